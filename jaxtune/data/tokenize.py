"""Word-level tokenization with HuggingFace `tokenizers`: a vocabulary from training texts only.

The pipeline is NFKC + lowercase (optional), then a split on whitespace with every
punctuation character its own token (`don't!` -> `don ' t !`). The vocabulary is
`<pad>` (id 0 = PAD_ID), `<unk>` (id 1 = OOV_ID), then the training words by
descending count, ties in code-point order (the WordLevel trainer sorts by
`(-count, word)`, so the same texts always give the same ids). Saved as the
library's `tokenizer.json`, so `final` and `resume` reuse the exact ids.

A text with no token at all after normalization (only characters the normalizer
removes) is encoded as one `<unk>`, length 1: every example keeps at least one
real step, so masked means and final states stay defined. A text whose words are
all unknown keeps its length, as a run of `<unk>`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

from jaxtune.data.dataset import OOV_ID, PAD_ID, Split
from jaxtune.data.examples import DataError

PAD_TOKEN = "<pad>"
UNK_TOKEN = "<unk>"
SPECIAL_TOKENS = (PAD_TOKEN, UNK_TOKEN)  # ids PAD_ID, OOV_ID
UNLIMITED = 1 << 30


def new_tokenizer(
    *, lowercase: bool = True, replacements: Sequence[tuple[str, str]] = ()
) -> Tokenizer:
    """An untrained WordLevel pipeline; `replacements`: literal (old, new) pairs applied first."""
    steps = [normalizers.Replace(old, new) for old, new in replacements]
    steps.append(normalizers.NFKC())
    if lowercase:
        steps.append(normalizers.Lowercase())
    tokenizer = Tokenizer(models.WordLevel(unk_token=UNK_TOKEN))
    tokenizer.normalizer = normalizers.Sequence(steps)
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation(behavior="isolated")]
    )
    return tokenizer


def train_tokenizer(
    texts: Sequence[str],
    *,
    min_frequency: int = 1,
    max_vocab_size: int | None = None,
    lowercase: bool = True,
    replacements: Sequence[tuple[str, str]] = (),
) -> Tokenizer:
    """Build the vocabulary from `texts` (the training split only).

    Args:
      min_frequency: a word needs at least this many occurrences.
      max_vocab_size: at most this many ids, counting `<pad>` and `<unk>` (None: no cap).
    """
    if max_vocab_size is not None and max_vocab_size < len(SPECIAL_TOKENS) + 1:
        raise ValueError(f"max_vocab_size must be at least 3, found {max_vocab_size}")
    tokenizer = new_tokenizer(lowercase=lowercase, replacements=replacements)
    trainer = trainers.WordLevelTrainer(
        vocab_size=max_vocab_size or UNLIMITED,
        min_frequency=min_frequency,
        special_tokens=list(SPECIAL_TOKENS),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer, length=len(texts))
    _check_specials(tokenizer, "<trained>")
    return tokenizer


def save_tokenizer(tokenizer: Tokenizer, path: str | Path) -> None:
    """Write `tokenizer.json` atomically (a killed run never leaves half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    tokenizer.save(str(partial))
    partial.replace(path)


def load_tokenizer(path: str | Path) -> Tokenizer:
    if not Path(path).is_file():
        raise DataError(f"{path}: no such file")
    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as error:  # the Rust side raises a plain Exception on bad JSON
        raise DataError(
            f"{path}: found an unreadable tokenizer ({error}); expected a tokenizers JSON file"
        ) from None
    _check_specials(tokenizer, str(path))
    return tokenizer


def _check_specials(tokenizer: Tokenizer, where: str):
    found = tuple(tokenizer.id_to_token(i) for i in (PAD_ID, OOV_ID))
    if found != SPECIAL_TOKENS:
        raise DataError(
            f"{where}: found ids 0, 1 = {found}; expected {PAD_TOKEN} = {PAD_ID}, "
            f"{UNK_TOKEN} = {OOV_ID}"
        )


def vocabulary(tokenizer: Tokenizer) -> tuple[str, ...]:
    """id -> token for every id."""
    by_id = sorted(tokenizer.get_vocab(with_added_tokens=True).items(), key=lambda item: item[1])
    assert [i for _, i in by_id] == list(range(len(by_id))), "vocabulary ids have gaps"
    return tuple(token for token, _ in by_id)


class Encoded(NamedTuple):
    tokens: np.ndarray  # [N, T] int32, PAD_ID after each length
    lengths: np.ndarray  # [N] int32 in [1, T]
    empty: np.ndarray  # [N] bool: texts with no token, encoded as one <unk>
    truncated: np.ndarray  # [N] bool: texts with more than max_length tokens


def encode_ids(
    tokenizer: Tokenizer, texts: Sequence[str], max_length: int, pad_to: int | None = None
) -> Encoded:
    """Token ids of `texts`, truncated to `max_length`, padded with PAD_ID to T.

    T is `pad_to` if given, else min(max_length, longest encoded text).
    """
    if max_length < 1:
        raise ValueError(f"max_length must be at least 1, found {max_length}")
    ids = _leading_ids(tokenizer, list(texts), max_length)
    truncated = np.array([len(x) > max_length for x in ids], bool)
    ids = [x[:max_length] for x in ids]
    raw_lengths = np.array([len(x) for x in ids], np.int32)
    empty = raw_lengths == 0
    lengths = np.maximum(raw_lengths, 1)
    width = pad_to or (int(lengths.max()) if len(ids) else 1)
    if len(ids) and width < int(lengths.max()):
        raise ValueError(f"pad_to {pad_to} is below the longest encoded text, {lengths.max()}")
    tokens = np.full((len(ids), width), PAD_ID, np.int32)  # [N, T]
    for row, row_ids in enumerate(ids):
        tokens[row, : len(row_ids)] = row_ids
    tokens[empty, 0] = OOV_ID
    return Encoded(tokens, lengths, empty, truncated)


def _leading_ids(tokenizer: Tokenizer, texts: list[str], max_length: int) -> list[list[int]]:
    """Ids of each text: all of them, or at least `max_length + 1` of a long text's prefix.

    Tokenizing costs per token, and a long review truncated to 256 tokens needs
    only its start. A prefix is cut just before a whitespace character, where no
    token, normalization (NFKC composes within a run after a starter) or
    lowercasing context crosses; only a `Replace` pattern spanning the cut could
    change, and it yields at most `len(pattern)` tokens at the prefix's end. So a
    prefix with `max_length + margin` tokens has the full text's first
    `max_length` ids. Texts whose prefix falls short are tokenized whole.
    """
    margin = _prefix_margin(tokenizer)
    budget = 8 * (max_length + (margin or 0)) + 64  # characters; about 5 per English token
    prefixes = []
    for text in texts:
        cut = len(text)
        if margin and cut > budget:
            cut = max(text.rfind(" ", 0, budget), text.rfind("\n", 0, budget))
            cut = cut if cut > 0 else len(text)
        prefixes.append(text[:cut])
    encodings = tokenizer.encode_batch_fast(prefixes, add_special_tokens=False)
    ids = [encoding.ids for encoding in encodings]
    redo = [
        i
        for i, (text, prefix) in enumerate(zip(texts, prefixes, strict=True))
        if len(prefix) < len(text) and len(ids[i]) < max_length + margin
    ]
    if redo:
        full = tokenizer.encode_batch_fast([texts[i] for i in redo], add_special_tokens=False)
        for i, encoding in zip(redo, full, strict=True):
            ids[i] = encoding.ids
    return ids


def _prefix_margin(tokenizer: Tokenizer) -> int | None:
    """1 + the longest literal `Replace` pattern; None (no prefixes) if a pattern is a regex."""
    normalizer = json.loads(tokenizer.to_str()).get("normalizer") or {}
    margin = 1
    for step in normalizer.get("normalizers", [normalizer]):
        if step.get("type") == "Replace":
            if "String" not in step["pattern"]:
                return None
            margin = max(margin, 1 + len(step["pattern"]["String"]))
    return margin


def encode(
    tokenizer: Tokenizer,
    texts: Sequence[str],
    labels: np.ndarray,
    max_length: int,
    pad_to: int | None = None,
) -> Split:
    """A Split of `texts` with `labels` ([N] int32); see `encode_ids` for the token layout."""
    encoded = encode_ids(tokenizer, texts, max_length, pad_to)
    labels = np.asarray(labels, np.int32)
    return Split(tokens=encoded.tokens, lengths=encoded.lengths, labels=labels)
