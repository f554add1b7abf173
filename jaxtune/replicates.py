"""Seed replicates (`repeats: N`): every config trained N times inside its population.

A replicate is a trial of its own: its config carries `repeat` (0 .. N-1), its id is
`config_id * N + repeat`, and its randomness is `fold_in(sweep_key, trial_id)` like any
trial's: its own initialisation and dropout. The data order stays shared (one shuffle per
epoch for the whole sweep), so the spread across replicates measures what initialisation
and dropout luck do to a config, and two configs are compared on the same batches.

A config's score is the mean over its replicates of each one's best value; its spread
the sample standard deviation. A config is "within noise" of the best when their
mean +- std intervals overlap.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence
from typing import Any

REPEAT = "repeat"  # the config key of a replicate's index


def expand(trials: Sequence, repeats: int) -> list:
    """Each trial as `repeats` replicates (ids trial_id * repeats + repeat)."""
    if repeats <= 1:
        return list(trials)
    return [
        dataclasses.replace(t, trial_id=t.trial_id * repeats + r, config={**t.config, REPEAT: r})
        for t in trials
        for r in range(repeats)
    ]


def config_key(hparams: dict[str, Any]) -> str:
    """What replicates of one config share: every value but the repeat index."""
    return json.dumps({k: v for k, v in hparams.items() if k != REPEAT}, sort_keys=True)


@dataclasses.dataclass(frozen=True)
class Summary:
    """One config's replicates: their trial ids and best values (None: no finite value)."""

    trial_ids: tuple[int, ...]
    values: tuple[float | None, ...]

    @property
    def finite(self) -> list[float]:
        return [v for v in self.values if v is not None]

    @property
    def mean(self) -> float | None:
        finite = self.finite
        return sum(finite) / len(finite) if finite else None

    @property
    def std(self) -> float | None:
        finite = self.finite
        if not finite:
            return None
        if len(finite) == 1:
            return 0.0
        mean = sum(finite) / len(finite)
        return math.sqrt(sum((v - mean) ** 2 for v in finite) / (len(finite) - 1))


def replicated(records: Sequence[dict[str, Any]]) -> bool:
    return any(REPEAT in r["hparams"] for r in records)


def summaries(records: Sequence[dict[str, Any]], metric: str) -> dict[str, Summary]:
    """Each config's Summary, by config_key, in first-seen order."""
    from jaxtune.results import best_value

    groups: dict[str, list] = {}
    for record in sorted(records, key=lambda r: r["trial_id"]):
        groups.setdefault(config_key(record["hparams"]), []).append(record)
    return {
        key: Summary(
            tuple(r["trial_id"] for r in members),
            tuple(best_value(r, metric) for r in members),
        )
        for key, members in groups.items()
    }


def within_noise(summary: Summary, best: Summary) -> bool:
    """Whether the mean +- std intervals of `summary` and the best config's overlap."""
    if summary.mean is None or best.mean is None:
        return False
    return abs(summary.mean - best.mean) <= summary.std + best.std
