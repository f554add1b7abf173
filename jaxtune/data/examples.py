"""What every reader of labelled text returns: `Examples`, `DataError`, and the label check.

Every problem is one `DataError` line, `FILE:LINE: what was found; expected ...`; with
`skip_bad_lines` the line is skipped and counted instead, the first few reasons kept.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence

from jaxtune.data.splits import label_order

MAX_REASONS = 5  # skipped-line messages kept for the report


class DataError(ValueError):
    """A data problem, as one line naming the file, the line and what was expected."""


@dataclasses.dataclass(frozen=True)
class Examples:
    """The examples of one file, in file order, with what was skipped."""

    path: str
    texts: list[str]
    # As written; JSON integers become their decimal string. Tasks tag and ctc: a tuple of
    # labels per example (a tag per token, or the target sequence).
    labels: list[str] | list[tuple[str, ...]]
    lines: list[int]  # 1-based line where each example starts
    skipped: int = 0
    skip_reasons: tuple[str, ...] = ()  # the first MAX_REASONS messages
    blank_lines: int = 0

    def __len__(self) -> int:
        return len(self.texts)

    def select(self, index: Sequence[int]) -> Examples:
        """The examples at `index` (in that order); skip counts stay with the file."""
        return dataclasses.replace(
            self,
            texts=[self.texts[i] for i in index],
            labels=[self.labels[i] for i in index],
            lines=[self.lines[i] for i in index],
        )


def check_labels(
    examples: Examples,
    known: Collection[str],
    *,
    skip_bad_lines: bool = False,
    known_from: str = "the training labels",
) -> Examples:
    """Keep the examples whose label is in `known`; others fail or are skipped and counted.

    A sequence of labels (tasks tag and ctc) is kept when every label in it is known.
    """
    known = set(known)
    allowed = ", ".join(label_order(known))
    problems = []
    for labels, line in zip(examples.labels, examples.lines, strict=True):
        label = _first_unknown(labels, known)
        problems.append(
            None
            if label is None
            else f"{examples.path}:{line}: found label {label!r}, which is not among "
            f"{known_from}; expected one of {allowed}"
        )
    return drop_bad(examples, problems, skip_bad_lines=skip_bad_lines)


def drop_bad(
    examples: Examples, problems: Sequence[str | None], *, skip_bad_lines: bool = False
) -> Examples:
    """Raise the first problem (one line each; None: fine), or skip and count those examples."""
    keep, skipped, reasons = [], 0, list(examples.skip_reasons)
    for i, message in enumerate(problems):
        if message is None:
            keep.append(i)
            continue
        if not skip_bad_lines:
            raise DataError(message)
        skipped += 1
        if len(reasons) < MAX_REASONS:
            reasons.append(message)
    if not skipped:
        return examples
    return dataclasses.replace(
        examples.select(keep), skipped=examples.skipped + skipped, skip_reasons=tuple(reasons)
    )


def _first_unknown(labels: str | tuple[str, ...], known: set[str]) -> str | None:
    if isinstance(labels, tuple):
        return next((label for label in labels if label not in known), None)
    return None if labels in known else labels
