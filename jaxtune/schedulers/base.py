"""What a pruning rule reads after an evaluation round, and what it answers.

A rule (W&B's early_terminate, Optuna's successive halving or hyperband) is a function
of the population's `Standing`: it names the active configs to end as PRUNED and why.
Every rule here is a pure function of the histories, the earlier configs' records and
the order in which the round's configs reported, so a resumed sweep, which has the
same histories, makes the same decisions.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import numpy as np


@dataclasses.dataclass(frozen=True)
class Verdict:
    """Why a config is pruned: its value at evaluation `band` (its best, for W&B's
    non-strict rule) was worse than `threshold` (both in the metric's own sign)."""

    band: int  # the evaluation at which it was compared
    value: float
    threshold: float
    rule: str = "early_terminate"  # or "asha", "hyperband" (scheduler.type)
    rung: int | None = None  # successive halving: the rung it did not pass
    competing: int | None = None  # successive halving: configs compared at that rung


@dataclasses.dataclass(frozen=True)
class Standing:
    """A population after an evaluation round, as a pruning rule reads it."""

    trial_ids: Sequence[int]  # each config's
    histories: Sequence[Sequence[dict]]  # each config's evaluations so far
    active: np.ndarray  # [n] bool: still training
    # The configs evaluated in this round, in slot order: the order in which a per-trial
    # tuner would have seen them report.
    reported: Sequence[int]


# A pruning rule: the population's standing -> the configs to prune (index into the
# standing's lists) -> why.
Prune = Callable[[Standing], dict[int, Verdict]]
