"""Tag and ctc examples read from JSONL: label ids, the labels' fit to the tokens, label arrays.

Each check is one `DataError` line, `FILE:LINE: what was found; expected ...`, or with
`skip_bad_lines` a skipped, counted example, as the readers do. The fit is checked on
the tokenizer's pre-tokens (one id per pre-token: the WordLevel model maps each word to
one id, `<unk>` or not), so it needs no vocabulary and runs before the vocabulary is
built from the examples that pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from jaxtune.data import tokenize
from jaxtune.data.examples import Examples, check_labels, drop_bad
from jaxtune.data.sequences import BLANK, ctc_feasible, repeats
from jaxtune.data.splits import label_order

if TYPE_CHECKING:
    from jaxtune.spec.data import DataSpec

SPLITS = ("train", "val", "test")


def check_sequence_labels(
    spec: DataSpec, examples: dict[str, Examples]
) -> tuple[dict[str, Examples], tuple[str, ...]]:
    """Every label known (data.labels, else train's for val and test); returns the label names.

    Label ids: tag, `data.labels` or the sorted training tags; ctc, `<blank>` (id 0) then
    `data.labels` or the sorted training symbols.
    """
    if spec.task == "ctc" and spec.labels and BLANK in spec.labels:
        raise ValueError(f"data.labels: found {BLANK}, the CTC blank (id 0); expected targets only")
    skip = spec.skip_bad_lines
    names = spec.labels or label_order(_symbols(examples["train"]))
    examples = dict(examples)
    examples["train"] = check_labels(
        examples["train"], names, skip_bad_lines=skip, known_from="data.labels"
    )
    trained = set(_symbols(examples["train"]))
    for split in ("val", "test"):
        examples[split] = check_labels(examples[split], trained, skip_bad_lines=skip)
    label_names = tuple(names) if spec.task == "tag" else (BLANK, *names)
    return examples, label_names


def _symbols(examples: Examples) -> list[str]:
    return [label for labels in examples.labels for label in labels]


def check_fit(spec: DataSpec, examples: dict[str, Examples]) -> dict[str, Examples]:
    """Drop (or fail on) examples whose labels do not fit their tokens.

    tag: exactly one tag per token of the text. ctc: label count + repeats (a blank must
    part equal neighbours) at most the text's tokens after data.max_length truncation.
    """
    pipeline = tokenize.new_tokenizer(
        lowercase=spec.lowercase, replacements=spec.replacements or ()
    )
    checked = {}
    for split in SPLITS:
        split_examples = examples[split]
        counts = token_counts(pipeline, split_examples.texts)  # [N]
        if spec.task == "tag":
            problems = _tag_problems(split_examples, counts)
        else:
            problems = _ctc_problems(split_examples, counts, spec.max_length)
        checked[split] = drop_bad(split_examples, problems, skip_bad_lines=spec.skip_bad_lines)
    return checked


def token_counts(pipeline, texts: Sequence[str]) -> np.ndarray:
    """Pre-tokens of each text (0 for a text the normalizer empties). Returns [N] int64."""
    normalize = pipeline.normalizer.normalize_str
    split = pipeline.pre_tokenizer.pre_tokenize_str
    return np.array([len(split(normalize(text))) for text in texts], np.int64)


def _tag_problems(examples: Examples, counts: np.ndarray) -> list[str | None]:
    problems = []
    for tags, line, count in zip(examples.labels, examples.lines, counts, strict=True):
        problems.append(
            None
            if len(tags) == count
            else f"{examples.path}:{line}: found {_count(len(tags), 'tag')} for a text of "
            f"{_count(count, 'token')}; expected one tag per token (tokens split at whitespace "
            "and punctuation)"
        )
    return problems


def _ctc_problems(examples: Examples, counts: np.ndarray, max_length: int) -> list[str | None]:
    targets, target_lengths = _ids(examples.labels)  # [N, S], [N]
    lengths = np.maximum(np.minimum(counts, max_length), 1)  # [N]: an empty text is one <unk>
    fits = ctc_feasible(target_lengths, targets, lengths)  # [N]
    repeat_counts = repeats(target_lengths, targets)  # [N]
    problems = []
    for i, line in enumerate(examples.lines):
        if fits[i]:
            problems.append(None)
            continue
        labels, repeated = int(target_lengths[i]), int(repeat_counts[i])
        cut = f", cut to {max_length} by data.max_length" if counts[i] > max_length else ""
        problems.append(
            f"{examples.path}:{line}: found a target of {_count(labels, 'label')} with "
            f"{_count(repeated, 'repeat')}, which needs {labels + repeated} steps, for a text "
            f"of {_count(counts[i], 'token')}{cut}; expected labels + repeats <= tokens"
        )
    return problems


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'s' * (int(number) != 1)}"


def _ids(sequences: Sequence[tuple[str, ...]]) -> tuple[np.ndarray, np.ndarray]:
    """Sequences of labels as ids of their own ([N, S] int32, 0 after each length) and lengths."""
    index = {}
    lengths = np.array([len(labels) for labels in sequences], np.int32)  # [N]
    ids = np.zeros((len(sequences), int(lengths.max(initial=1))), np.int32)  # [N, S]
    for row, labels in enumerate(sequences):
        ids[row, : len(labels)] = [index.setdefault(label, len(index) + 1) for label in labels]
    return ids, lengths


def label_arrays(
    sequences: Sequence[tuple[str, ...]], label_names: tuple[str, ...], width: int
) -> tuple[np.ndarray, np.ndarray]:
    """Label ids of a split's sequences, each cut to `width`: [N, width] int32 (0 after each
    length) and the lengths kept, [N] int32. Tags are cut with their tokens to T; a ctc
    width S must hold the longest target."""
    label_id = {name: i for i, name in enumerate(label_names)}
    ids = np.zeros((len(sequences), width), np.int32)  # [N, T] or [N, S]
    lengths = np.zeros(len(sequences), np.int32)  # [N]
    for row, labels in enumerate(sequences):
        kept = labels[:width]
        ids[row, : len(kept)] = [label_id[label] for label in kept]
        lengths[row] = len(kept)
    return ids, lengths
