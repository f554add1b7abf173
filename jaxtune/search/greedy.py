"""Greedy coordinate search (`method: greedy`): tune one hyperparameter at a time, keep the best.

The tuning users do by hand, baseline -> iteration 1 -> iteration 2 ..., run as
populations. The current config starts at the baselines (`baseline:`, else each
parameter's first value). Iteration i sweeps the i-th listed hyperparameter over its
values with every other one at the current config; those configs train together as
populations (the current config is among them, trained once and reused). The best value
is adopted when its config beats the current one strictly; then the search moves on.

A config's `studies` are the iterations it took part in (hyperparameter names), so the
report reads each hyperparameter's effect off its own iteration, as for one_at_a_time.
`greedy.json` in the sweep directory records the path: per iteration the values tried,
the best, whether it was adopted and the current config's score after it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from jaxtune.replicates import expand
from jaxtune.results import best_value
from jaxtune.search.base import Round
from jaxtune.search.samplers import Trial
from jaxtune.space import complete_config


def _key(config: Mapping[str, Any]) -> str:
    return json.dumps(config, sort_keys=True)


def max_configs(parameters: Mapping[str, Sequence[Any]]) -> int:
    """Configs a greedy search trains at most: the baseline plus each other value once."""
    return 1 + sum(len(values) - 1 for values in parameters.values())


@dataclasses.dataclass
class GreedySearch:
    """The search state: the current config, every config trained so far, the path."""

    parameters: dict[str, list[Any]]  # swept values per hyperparameter, in search order
    current: dict[str, Any]  # complete config
    metric: str
    goal: str
    trials: dict[str, Trial] = dataclasses.field(default_factory=dict)  # config key -> trial
    path: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    # The values the current config was completed from (the spec's, then the adopted
    # ones): a value derived in completion, such as the num_layers of a per-layer
    # hidden_size list, must not outlive the value it came from. Default: `current`.
    chosen: dict[str, Any] | None = None

    def __post_init__(self):
        if self.chosen is None:
            self.chosen = dict(self.current)

    @classmethod
    def of(cls, spec) -> GreedySearch:
        chosen = {**spec.fixed, **spec.baselines}
        return cls(
            dict(spec.parameters), complete_config(chosen), spec.metric, spec.goal, chosen=chosen
        )

    def iteration(self, name: str) -> tuple[list[Trial], list[Trial]]:
        """(every trial of NAME's iteration in value order, those not trained before)."""
        members, new = [], []
        for value in self.parameters[name]:
            config = complete_config({**self.chosen, name: value})
            key = _key(config)
            if key not in self.trials:
                self.trials[key] = Trial(len(self.trials), config, (name,))
                new.append(self.trials[key])
            members.append(self.trials[key])
        return list({t.trial_id: t for t in members}.values()), new

    def _better(self, a: float | None, b: float | None) -> bool:
        if a is None:
            return False
        if b is None:
            return True
        return a > b if self.goal == "maximize" else a < b

    def conclude(
        self, name: str, members: Sequence[Trial], records: Mapping[int, dict[str, Any]]
    ) -> dict[str, Any]:
        """Adopt NAME's best value if it beats the current config; returns the path entry.

        records: trial_id -> result record of every member.
        """
        current_id = self.trials[_key(self.current)].trial_id
        score = best_value(records[current_id], self.metric)
        if not self.path:
            self.path.append(
                {"iteration": 0, "hparam": None, "trial_id": current_id, "score": score}
            )
        best = None
        for trial in members:  # value order: ties keep the earlier value
            value = best_value(records[trial.trial_id], self.metric)
            if best is None or self._better(value, best[1]):
                best = (trial, value)
        adopted = best[0].trial_id != current_id and self._better(best[1], score)
        if adopted:
            self.current = best[0].config
            self.chosen = {**self.chosen, name: best[0].config[name]}
            score = best[1]
        entry = {
            "iteration": len(self.path),
            "hparam": name,
            "values": [t.config[name] for t in members],
            "trial_ids": [t.trial_id for t in members],
            "scores": [best_value(records[t.trial_id], self.metric) for t in members],
            "best_value": best[0].config[name],
            "adopted": adopted,
            "value": self.current[name],
            "trial_id": self.trials[_key(self.current)].trial_id,
            "score": score,
        }
        self.path.append(entry)
        return entry


class GreedyRounds:
    """The greedy search as rounds: one iteration per round, concluded once it has trained."""

    merged = 0

    def __init__(
        self,
        search: GreedySearch,
        records: Sequence[dict[str, Any]],
        record: Callable[[Sequence[dict[str, Any]]], None],
        on_iteration: Callable[[GreedySearch, dict[str, Any]], None],
        repeats: int = 1,
    ):
        """records: results on disk (a resumed sweep); record(records): into the study;
        on_iteration(search, path entry): after each concluded iteration (write, display).

        The search ends early after an iteration the time limit cut short (some of its
        configs never trained).

        With `repeats` (replicates.py) each config of an iteration trains as its seed
        replicates, and a config's score is the mean of theirs (greedy.json's trial ids
        are then the configs': config id * repeats + repeat are their replicates').
        """
        self.search = search
        self.repeats = repeats
        self.by_id = {r["trial_id"]: r for r in records}
        self._names = iter(self.search.parameters)
        self._iteration: tuple[str, list[Trial]] | None = None
        self._record = record
        self._on_iteration = on_iteration
        self._done = False

    def propose(self) -> Round | None:
        name = None if self._done else next(self._names, None)
        if name is None:
            return None
        members, new = self.search.iteration(name)
        self._iteration = (name, members)
        return Round([expand(new, self.repeats)])

    def observe(self, records: Sequence[dict[str, Any]]) -> None:
        self.by_id.update((r["trial_id"], r) for r in records)
        self._record(records)

    def conclude(self) -> None:
        """Adopt the iteration's best value; one the time limit cut short ends the search."""
        name, members = self._iteration
        if any(i not in self.by_id for trial in members for i in self._replicates(trial)):
            self._done = True
            return
        for trial in members:  # a reused config joins this iteration's study too
            for trial_id in self._replicates(trial):
                studies = self.by_id[trial_id].setdefault("studies", [])
                if name not in studies:
                    studies.append(name)
        entry = self.search.conclude(name, members, self._scored())
        self._on_iteration(self.search, entry)

    def _replicates(self, trial: Trial) -> list[int]:
        """The trial ids a config trained as (itself, or its seed replicates)."""
        if self.repeats == 1:
            return [trial.trial_id]
        return [trial.trial_id * self.repeats + r for r in range(self.repeats)]

    def _scored(self) -> Mapping[int, dict[str, Any]]:
        """Each trained config's record for `GreedySearch.conclude`; with replicates, one
        whose best value is the mean of its replicates' (None: one has no finite value)."""
        if self.repeats == 1:
            return self.by_id
        metric = self.search.metric
        scored = {}
        for trial in self.search.trials.values():
            ids = self._replicates(trial)
            if all(i in self.by_id for i in ids):
                values = [best_value(self.by_id[i], metric) for i in ids]
                mean = None if None in values else sum(values) / len(values)
                scored[trial.trial_id] = {"best": None if mean is None else {metric: mean}}
        return scored
