"""The built-in synthetic task: sentiment with negation scope, where word order decides the label.

Each sentence holds one to three sentiment words among filler words. A negator
directly before a sentiment word flips its polarity; negators elsewhere are
distractors. The label is the sign of the summed polarity: negative, mixed (zero)
or positive. "not good bad" (-1 - 1 = negative) and "good not bad" (+1 + 1 =
positive) hold the same bag of words, so a bag-of-words model cannot decide many
examples while a recurrent model that tracks order can. `label_noise` replaces a
fraction of labels with random classes, so accuracy has a ceiling below 1 and
configs stay distinguishable.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from jaxtune.data.dataset import PAD_ID, Split, TextDataset

LABELS = ("negative", "mixed", "positive")

POSITIVE = (
    "good great excellent superb wonderful brilliant lovely delightful charming pleasant "
    "enjoyable fantastic remarkable moving gripping clever funny warm fresh elegant"
).split()
NEGATIVE = (
    "bad awful terrible boring dull weak clumsy tedious bland poor messy lifeless "
    "painful silly shallow annoying flat stale forgettable ugly"
).split()
NEGATORS = ("not", "never", "hardly")
FILLERS = (
    "the a an this that movie film story plot cast acting script scene ending music "
    "director camera dialogue pace character hero villain audience screen year time "
    "was is felt seemed looked sounded became remained stayed got and or so yet also "
    "quite rather very really truly somewhat fairly mostly often sometimes always "
    "with of in on at by for from about after before during through over under "
    "it its their his her our my we they he she you one two three first last "
    "long short old new early late whole entire final opening middle part"
).split()


@dataclasses.dataclass(frozen=True)
class SyntheticConfig:
    train_size: int = 6000
    val_size: int = 1000
    test_size: int = 1000
    min_length: int = 6
    max_length: int = 32
    label_noise: float = 0.0  # fraction of labels replaced by a uniformly drawn class
    seed: int = 0


def vocabulary() -> tuple[str, ...]:
    return ("<pad>", "<unk>", *NEGATORS, *POSITIVE, *NEGATIVE, *FILLERS)


def _sentence(rng: np.random.Generator, config: SyntheticConfig, ids: dict[str, np.ndarray]):
    """One example as (token ids, label id)."""
    length = int(rng.integers(config.min_length, config.max_length + 1))
    words = ids["filler"][rng.integers(0, len(FILLERS), size=length)]
    num_sentiment = int(rng.integers(1, 4))
    # Sentiment words sit at least two apart so each may take a negator right before it.
    slots = rng.choice(
        np.arange(1, length, 2), size=min(num_sentiment, (length - 1) // 2), replace=False
    )
    score = 0
    for slot in slots:
        polarity = 1 if rng.random() < 0.5 else -1
        pool = ids["positive"] if polarity > 0 else ids["negative"]
        words[slot] = pool[rng.integers(0, len(pool))]
        if rng.random() < 0.5:
            words[slot - 1] = ids["negator"][rng.integers(0, len(NEGATORS))]
            polarity = -polarity
        score += polarity
    if rng.random() < 0.5:
        # A distractor negator whose next word is not a sentiment word.
        taken = set(slots.tolist())
        free = [i for i in range(length) if i not in taken and i + 1 not in taken]
        if free:
            words[free[rng.integers(0, len(free))]] = ids["negator"][rng.integers(0, len(NEGATORS))]
    label = 0 if score < 0 else (1 if score == 0 else 2)
    return words, label


def _split(rng: np.random.Generator, size: int, config: SyntheticConfig, ids) -> Split:
    tokens = np.full((size, config.max_length), PAD_ID, np.int32)
    lengths = np.zeros(size, np.int32)
    labels = np.zeros(size, np.int32)
    # Draw the label first and resample until a sentence has it: balanced classes.
    targets = rng.permutation(np.arange(size) % len(LABELS))
    for i, target in enumerate(targets):
        while True:
            words, label = _sentence(rng, config, ids)
            if label == target:
                break
        tokens[i, : len(words)] = words
        lengths[i] = len(words)
        labels[i] = label
    noisy = rng.random(size) < config.label_noise
    labels[noisy] = rng.integers(0, len(LABELS), size=int(noisy.sum()))
    return Split(tokens=tokens, lengths=lengths, labels=labels)


def make_synthetic(config: SyntheticConfig = SyntheticConfig()) -> TextDataset:
    """The deterministic synthetic dataset for `config` (same config, same bytes)."""
    vocab = vocabulary()
    index = {w: i for i, w in enumerate(vocab)}
    ids = {
        name: np.array([index[w] for w in words], np.int32)
        for name, words in [
            ("positive", POSITIVE),
            ("negative", NEGATIVE),
            ("negator", NEGATORS),
            ("filler", FILLERS),
        ]
    }
    rng = np.random.default_rng(config.seed)
    train = _split(rng, config.train_size, config, ids)
    val = _split(rng, config.val_size, config, ids)
    test = _split(rng, config.test_size, config, ids)
    return TextDataset(
        name="synthetic", train=train, val=val, test=test, vocab=vocab, label_names=LABELS
    )
