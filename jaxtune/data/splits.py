"""Label order and seeded stratified splits of one labelled file into train/val/test."""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np


def label_order(labels: Collection[str]) -> tuple[str, ...]:
    """Distinct labels sorted, integers numerically first ("2" before "10"), then names."""

    def key(label: str):
        try:
            return (0, int(label), label)
        except ValueError:
            return (1, 0, label)

    return tuple(sorted(set(labels), key=key))


def stratified_split(labels: Sequence, fractions: Sequence[float], seed: int) -> list[np.ndarray]:
    """Split example indices into len(fractions) parts that keep each class's proportion.

    Deterministic given `seed`; every index lands in exactly one part. Part sizes are
    the fractions of the total rounded by largest remainder, and each class is cut as
    close to its own fractions as those totals allow (`split_counts`). Returns int64
    index arrays in ascending (file) order.
    """
    fractions = np.asarray(fractions, np.float64)
    if fractions.ndim != 1 or np.any(fractions < 0) or not np.isclose(fractions.sum(), 1.0):
        raise ValueError(f"fractions must be non-negative and sum to 1, found {fractions.tolist()}")
    labels = np.asarray([str(label) for label in labels])
    classes = label_order(labels.tolist())
    members = [np.flatnonzero(labels == label) for label in classes]
    counts = split_counts(np.array([len(m) for m in members]), fractions)  # [classes, parts]
    rng = np.random.default_rng(seed)
    parts = [[np.zeros(0, np.int64)] for _ in fractions]
    for class_members, class_counts in zip(members, counts, strict=True):
        shuffled = rng.permutation(class_members)
        for part, chunk in zip(
            parts, np.split(shuffled, np.cumsum(class_counts)[:-1]), strict=True
        ):
            part.append(chunk)
    return [np.sort(np.concatenate(part)) for part in parts]


def split_counts(class_sizes: np.ndarray, fractions: np.ndarray) -> np.ndarray:
    """[classes, parts] counts: rows sum to the class sizes, columns to the rounded part sizes.

    Each cell starts at floor(fraction * class size); the leftover examples go to the
    cells with the largest remainders whose class and part still need one.
    """
    exact = np.outer(class_sizes, fractions)  # [classes, parts]
    counts = np.floor(exact).astype(np.int64)
    totals = _largest_remainder(class_sizes.sum(), fractions)  # [parts]
    class_need = class_sizes - counts.sum(axis=1)
    part_need = totals - counts.sum(axis=0)
    cells = sorted(np.ndindex(*exact.shape), key=lambda cell: (-(exact - counts)[cell], cell))
    for relaxed in (False, True):  # a second pass fills what the remainder order could not
        for c, p in cells:
            while class_need[c] > 0 and part_need[p] > 0:
                counts[c, p] += 1
                class_need[c] -= 1
                part_need[p] -= 1
                if not relaxed:
                    break
    return counts


def _largest_remainder(total: int, fractions: np.ndarray) -> np.ndarray:
    exact = total * fractions
    counts = np.floor(exact).astype(np.int64)
    order = sorted(range(len(fractions)), key=lambda p: (-(exact[p] - counts[p]), p))
    for p in order[: total - counts.sum()]:
        counts[p] += 1
    return counts
