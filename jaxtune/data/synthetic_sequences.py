"""Built-in tag and ctc tasks, parity and readout: tags or targets that need the whole prefix.

parity (task tag): digits and neutral filler words; each token's tag is the parity of
the odd digits seen so far, itself included, so one wrong step of memory spoils every
later tag and exact match over 8-24 tokens needs an exact running state.
readout (task ctc): read out a digit string from a noisy rendering in which each digit
is a run of 1-3 copies and filler words ("uh", "um", ...) fall between runs; no
alignment is given, and "3 3" is one 3 while "3 uh 3" is two, so a model must learn
where runs end, which is what CTC's blank is for. Some gaps hold a misspoken digit taken
back ("3 7 no 5" reads 3 5): whether a digit counts is decided by the token after it,
so a model reading left to right must hold its output back a step.
"""

from __future__ import annotations

import numpy as np

from jaxtune.data.dataset import PAD_ID, Split, TextDataset
from jaxtune.data.sequences import BLANK, ctc_feasible
from jaxtune.data.synthetic import SyntheticConfig

DIGITS = tuple("0123456789")
PARITY_LABELS = ("even", "odd")
PARITY_FILLERS = ("and", "then", "plus")
PARITY_FILLER_RATE = 0.25  # share of tokens that are filler words
READOUT_FILLERS = ("uh", "um", "er", "ah", "hmm", "so")
RETRACT = "no"  # takes back the digit token before it
RETRACT_RATE = 0.35  # share of two-token gaps that hold a retracted digit instead of fillers
READOUT_LABELS = (BLANK, *DIGITS)
TARGET_LENGTHS = (3, 10)  # digits per readout target
MAX_RUN = 3  # copies of a digit token per target digit: 1 to MAX_RUN
MAX_GAP = 2  # filler tokens between two runs: 0 to MAX_GAP (at least 1 between equal digits)
SHORTEST_INPUT = TARGET_LENGTHS[0]
LONGEST_INPUT = TARGET_LENGTHS[1] * MAX_RUN + (TARGET_LENGTHS[1] - 1) * MAX_GAP  # 48

SYNTHETIC_NAMES = {"classify": "synthetic", "tag": "parity", "ctc": "readout"}
# Defaults per task: parity's exact match is already hard at 24 tokens and stays cheap on
# a CPU; readout inputs of 6-32 tokens hold targets of 3 to 10 digits.
SYNTHETIC_DEFAULTS = {
    "classify": SyntheticConfig(),
    "tag": SyntheticConfig(min_length=8, max_length=24),
    "ctc": SyntheticConfig(min_length=6, max_length=32),
}


def parity_vocabulary() -> tuple[str, ...]:
    return ("<pad>", "<unk>", *DIGITS, *PARITY_FILLERS)


def readout_vocabulary() -> tuple[str, ...]:
    return ("<pad>", "<unk>", *DIGITS, *READOUT_FILLERS, RETRACT)


def make_parity(config: SyntheticConfig = SYNTHETIC_DEFAULTS["tag"]) -> TextDataset:
    """The deterministic parity dataset (task tag) for `config`."""
    return _dataset(config, "tag", _parity_split, parity_vocabulary(), PARITY_LABELS)


def _dataset(config: SyntheticConfig, task: str, make_split, vocab, label_names) -> TextDataset:
    """The train, val and test splits of `make_split`, drawn in that order from one seed."""
    rng = np.random.default_rng(config.seed)
    train, val, test = (
        make_split(rng, size, config)
        for size in (config.train_size, config.val_size, config.test_size)
    )
    return TextDataset(
        name=SYNTHETIC_NAMES[task],
        train=train,
        val=val,
        test=test,
        vocab=vocab,
        label_names=label_names,
        task=task,
    )


def _parity_split(rng: np.random.Generator, size: int, config: SyntheticConfig) -> Split:
    width = config.max_length  # T
    first_digit = 2  # ids: <pad>, <unk>, digits, fillers
    first_filler = first_digit + len(DIGITS)
    lengths = rng.integers(config.min_length, config.max_length + 1, size).astype(np.int32)  # [N]
    digits = rng.integers(0, len(DIGITS), (size, width))  # [N, T]
    fillers = rng.integers(0, len(PARITY_FILLERS), (size, width))  # [N, T]
    is_filler = rng.random((size, width)) < PARITY_FILLER_RATE  # [N, T]
    real = np.arange(width)[None, :] < lengths[:, None]  # [N, T]
    tokens = np.where(is_filler, first_filler + fillers, first_digit + digits)  # [N, T]
    tokens = np.where(real, tokens, PAD_ID).astype(np.int32)
    odd = ~is_filler & (digits % 2 == 1)  # [N, T]
    labels = np.cumsum(odd, axis=1) % 2  # [N, T]: 0 even, 1 odd
    noisy = real & (rng.random((size, width)) < config.label_noise)  # [N, T]
    labels = np.where(noisy, rng.integers(0, len(PARITY_LABELS), (size, width)), labels)
    labels = np.where(real, labels, 0).astype(np.int32)
    return Split(tokens=tokens, lengths=lengths, labels=labels)


def readout_problem(config: SyntheticConfig) -> tuple[str, str] | None:
    """Why `config` cannot make readout examples, as (data key, message), or None."""
    if config.label_noise:
        return "label_noise", "not used by task ctc; it applies to task classify or tag"
    if config.min_length > LONGEST_INPUT:
        return "min_length", (
            f"{config.min_length} is above {LONGEST_INPUT}, the longest readout input "
            f"(targets of {TARGET_LENGTHS[0]} to {TARGET_LENGTHS[1]} digits)"
        )
    if config.max_length < max(config.min_length, SHORTEST_INPUT):
        return "max_length", (
            f"{config.max_length} is below data.min_length {config.min_length} or "
            f"{SHORTEST_INPUT}, the shortest readout input"
        )
    return None


def make_readout(config: SyntheticConfig = SYNTHETIC_DEFAULTS["ctc"]) -> TextDataset:
    """The deterministic readout dataset (task ctc) for `config`; every target fits its input."""
    problem = readout_problem(config)
    if problem:
        key, message = problem
        raise ValueError(f"data.{key}: {message}")
    return _dataset(config, "ctc", _readout_split, readout_vocabulary(), READOUT_LABELS)


def _readout_split(rng: np.random.Generator, size: int, config: SyntheticConfig) -> Split:
    low = max(config.min_length, SHORTEST_INPUT)
    high = min(config.max_length, LONGEST_INPUT)
    width = high  # T: no input is longer
    targets = min(TARGET_LENGTHS[1], high)  # S
    tokens = np.full((size, width), PAD_ID, np.int32)  # [N, T]
    lengths = np.zeros(size, np.int32)  # [N]
    labels = np.zeros((size, targets), np.int32)  # [N, S]
    label_lengths = np.zeros(size, np.int32)  # [N]
    for i in range(size):
        digits, words = _readout_example(rng, int(rng.integers(low, high + 1)))
        tokens[i, : len(words)] = words
        lengths[i] = len(words)
        labels[i, : len(digits)] = digits + 1  # label ids: 0 is the blank
        label_lengths[i] = len(digits)
    assert ctc_feasible(label_lengths, labels, lengths).all()
    return Split(tokens=tokens, lengths=lengths, labels=labels, label_lengths=label_lengths)


def _readout_example(rng: np.random.Generator, length: int) -> tuple[np.ndarray, np.ndarray]:
    """A target of digits and its input of exactly `length` token ids."""
    first_digit = 2  # ids: <pad>, <unk>, digits, fillers
    first_filler = first_digit + len(DIGITS)
    # A target of t digits takes t to t * MAX_RUN + (t - 1) * MAX_GAP input tokens.
    fewest = max(TARGET_LENGTHS[0], -(-(length + MAX_GAP) // (MAX_RUN + MAX_GAP)))
    count = int(rng.integers(fewest, min(TARGET_LENGTHS[1], length) + 1))  # t
    while True:
        digits = rng.integers(0, len(DIGITS), count)  # [t]
        forced = (digits[1:] == digits[:-1]).astype(np.int64)  # [t - 1]: a filler must part them
        if count + forced.sum() <= length:
            break
    # Spread the tokens beyond the minimum over runs and gaps, each up to its capacity.
    capacity = np.concatenate([np.full(count, MAX_RUN - 1), MAX_GAP - forced])  # [2t - 1]
    slots = np.repeat(np.arange(2 * count - 1), capacity)
    extra = length - count - int(forced.sum())
    added = np.bincount(
        slots[rng.choice(len(slots), extra, replace=False)], minlength=2 * count - 1
    )  # [2t - 1]
    runs, gaps = 1 + added[:count], forced + added[count:]
    retract_id = first_filler + len(READOUT_FILLERS)
    words = []
    for j, digit in enumerate(digits):
        words.extend([first_digit + int(digit)] * int(runs[j]))
        if j == count - 1:
            break
        if gaps[j] == 2 and rng.random() < RETRACT_RATE:
            # A digit other than the run's before it (which it would extend), taken back.
            wrong = (int(digit) + int(rng.integers(1, len(DIGITS)))) % len(DIGITS)
            words.extend([first_digit + wrong, retract_id])
        else:
            words.extend(first_filler + rng.integers(0, len(READOUT_FILLERS), int(gaps[j])))
    return digits, np.asarray(words, np.int32)
