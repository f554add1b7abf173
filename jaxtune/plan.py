"""The sweep plan: trials grouped by static signature and cut into populations."""

from __future__ import annotations

import dataclasses

from jaxtune.samplers import Trial
from jaxtune.space import static_signature


@dataclasses.dataclass(frozen=True)
class PopulationPlan:
    group: int  # index of the static signature
    trials: tuple[Trial, ...]

    @property
    def width(self) -> int:
        return len(self.trials)


def plan_populations(trials: list[Trial], max_population: int) -> list[PopulationPlan]:
    """One group per static signature (first-seen order), cut into widths <= max_population.

    Only shape-changing hyperparameters split groups; every dynamic value rides along
    as an array inside the group's one program.
    """
    groups: dict[tuple, list[Trial]] = {}
    for trial in trials:
        groups.setdefault(static_signature(trial.config), []).append(trial)
    plans = []
    for index, members in enumerate(groups.values()):
        for start in range(0, len(members), max_population):
            plans.append(PopulationPlan(index, tuple(members[start : start + max_population])))
    return plans
