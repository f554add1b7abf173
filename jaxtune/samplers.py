"""Samplers turn a spec into trials: complete configs with stable trial ids."""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

from jaxtune.space import complete_config
from jaxtune.spec import SpecError, SweepSpec


@dataclasses.dataclass(frozen=True)
class Trial:
    trial_id: int  # also the fold_in index of the trial's PRNG key
    config: dict[str, Any]  # complete: every hyperparameter has a value


def grid(spec: SweepSpec) -> tuple[list[Trial], int]:
    """Every combination of the swept values, in spec order, with duplicates merged.

    Two combinations are duplicates when they differ only in values their architecture
    ignores (a CNN's `hidden_size`). Returns the trials and the number merged.
    """
    names = list(spec.parameters)
    configs = {}
    total = 0
    for combination in itertools.product(*(spec.parameters[n] for n in names)):
        config = complete_config({**spec.fixed, **dict(zip(names, combination, strict=True))})
        configs.setdefault(tuple(config.items()), config)
        total += 1
    trials = [Trial(i, config) for i, config in enumerate(configs.values())]
    cap = spec.budget.max_configs
    if cap is not None and len(trials) > cap:
        raise SpecError(
            f"{spec.path}: budget.max_configs: the grid has {len(trials)} configs, "
            f"above the cap of {cap}; raise the cap or sweep fewer values"
        )
    return trials, total - len(trials)
