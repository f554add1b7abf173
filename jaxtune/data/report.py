"""What loading a dataset found, `DataReport`: sizes, labels, lengths, padding, skips, vectors."""

from __future__ import annotations

import dataclasses

import numpy as np

from jaxtune.data import glove

SPLITS = ("train", "val", "test")


@dataclasses.dataclass(frozen=True)
class DataReport:
    """What loading found: for the sweep plan and the results."""

    name: str
    source: str
    sizes: dict[str, int]
    label_names: tuple[str, ...]
    # split -> label -> examples (classify), tokens (tag) or target symbols (ctc)
    label_counts: dict[str, dict[str, int]]
    vocab_size: int
    max_length: int  # T: the token width of every split
    mean_length: dict[str, float]
    truncated: dict[str, int]  # examples longer than max_length
    oov_rate: dict[str, float]  # share of real tokens that are <unk>
    empty_texts: dict[str, int]  # texts with no token (encoded as one <unk>)
    skipped: dict[str, int]  # bad lines skipped (skip_bad_lines), per split
    skip_reasons: tuple[str, ...]
    blank_lines: int
    notes: tuple[str, ...]  # how missing splits were made, etc.
    buckets: tuple[int, ...]
    padding_waste: float  # each training example padded to its bucket: padded / real tokens
    padding_waste_unbucketed: float  # every example padded to max_length
    tokenizer_path: str | None = None
    coverage: glove.Coverage | None = None
    embedding: np.ndarray | None = dataclasses.field(default=None, repr=False)  # [V, D] float32

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def lines(self) -> list[str]:
        """A human summary, a few lines long."""
        sizes = " / ".join(f"{self.sizes[s]:,} {s}" for s in SPLITS)
        out = [
            f"data: {self.name} ({self.source}): {sizes}; {len(self.label_names)} classes; "
            f"vocabulary {self.vocab_size:,}; max_length {self.max_length}",
            f"padding: buckets {list(self.buckets)}, {self.padding_waste:.2f}x padded/real "
            f"tokens (max-length padding {self.padding_waste_unbucketed:.2f}x)",
        ]
        if self.truncated["train"]:
            out.append(
                f"truncated: {self.truncated['train']:,} training texts are longer "
                f"than {self.max_length} tokens"
            )
        if self.skipped_total or self.blank_lines:
            out.append(f"skipped: {self.skipped_total} bad lines, {self.blank_lines} blank lines")
            out.extend(f"  {reason}" for reason in self.skip_reasons)
        if self.coverage is not None:
            out.append(f"pretrained: {self.coverage.summary()}")
        out.extend(self.notes)
        return out
