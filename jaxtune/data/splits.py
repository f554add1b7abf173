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

    Deterministic given `seed`; every index lands in exactly one part. Each class is
    shuffled and cut at round(cumulative fraction * class size). Returns int64 index
    arrays in ascending (file) order.
    """
    fractions = np.asarray(fractions, np.float64)
    if fractions.ndim != 1 or np.any(fractions < 0) or not np.isclose(fractions.sum(), 1.0):
        raise ValueError(f"fractions must be non-negative and sum to 1, found {fractions.tolist()}")
    labels = np.asarray([str(label) for label in labels])
    rng = np.random.default_rng(seed)
    parts = [[] for _ in fractions]
    for label in label_order(labels.tolist()):
        members = rng.permutation(np.flatnonzero(labels == label))
        bounds = np.round(np.cumsum(fractions) * len(members)).astype(int)
        bounds[-1] = len(members)
        for part, chunk in zip(parts, np.split(members, bounds[:-1]), strict=True):
            part.append(chunk)
    return [np.sort(np.concatenate(part)) if part else np.zeros(0, np.int64) for part in parts]
