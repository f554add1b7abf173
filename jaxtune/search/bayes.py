"""Optuna's samplers (TPE by default) with batched ask/tell: ask K, train them as one, tell K.

`method: bayes` (W&B's name) asks `budget.ask_batch` trials at a time from the sweep's
Optuna study, trains them as populations (grouped by static signature as always), then
reports each trial's per-epoch metric as intermediate values and tells its final value,
so the sampler, pruners and dashboards see every curve. `optuna.sampler` names any
sampler class in `optuna.samplers` (with `seed` from the spec).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from jaxtune.distributions import Distribution
from jaxtune.records import TrialRecord
from jaxtune.search.base import Round
from jaxtune.search.samplers import Trial
from jaxtune.space import complete_config
from jaxtune.study import choice, trial_attrs

ROUND_ATTR = "jaxtune_round"  # user attr: the ask round a trial was proposed in


def to_optuna(dist: Distribution) -> BaseDistribution | None:
    """The Optuna distribution of a W&B one, or None when Optuna has none."""
    if dist.kind == "uniform":
        return FloatDistribution(dist.min, dist.max)
    if dist.kind == "log_uniform_values":
        return FloatDistribution(dist.min, dist.max, log=True)
    if dist.kind == "log_uniform":  # min/max are natural-log exponents
        return FloatDistribution(math.exp(dist.min), math.exp(dist.max), log=True)
    if dist.kind == "int_uniform":
        return IntDistribution(int(dist.min), int(dist.max))
    if dist.kind == "q_uniform":
        if all(isinstance(v, int) for v in (dist.min, dist.max, dist.q)):
            return IntDistribution(
                dist.min, dist.min + (dist.max - dist.min) // dist.q * dist.q, step=dist.q
            )
        steps = math.floor((dist.max - dist.min) / dist.q + 1e-9)
        return FloatDistribution(dist.min, dist.min + steps * dist.q, step=dist.q)
    if dist.kind == "categorical" and not dist.probabilities:
        return CategoricalDistribution([choice(v) for v in dist.values])
    return None


def optuna_distributions(spec) -> dict[str, BaseDistribution | None]:
    """Every swept hyperparameter as an Optuna distribution.

    A W&B distribution Optuna cannot sample from (normal, q_log_uniform_values, ...;
    method random draws it) maps to None: the study records each trial's value as a
    one-point distribution of its own (`study.frozen_trial`); weighted categorical values
    become plain categorical choices.
    """
    out: dict[str, BaseDistribution | None] = {
        name: CategoricalDistribution([choice(v) for v in values])
        for name, values in spec.parameters.items()
    }
    for name, dist in spec.distributions.items():
        converted = to_optuna(dist)
        if converted is None and dist.kind == "categorical":
            converted = CategoricalDistribution([choice(v) for v in dist.values])
        out[name] = converted
    return out


def decode(params: Mapping[str, Any], distributions: Mapping[str, BaseDistribution]):
    """Optuna params back to hyperparameter values (JSON choices become lists again)."""
    values = {}
    for name, value in params.items():
        if isinstance(distributions[name], CategoricalDistribution) and isinstance(value, str):
            try:
                decoded = json.loads(value)
            except json.JSONDecodeError:
                decoded = value
            value = decoded if isinstance(decoded, list) else value
        values[name] = value
    return values


def make_sampler(spec, round_index: int = 0) -> optuna.samplers.BaseSampler:
    """The sampler of one ask round, seeded from (spec seed, round).

    A fresh seeded sampler per round keeps the whole search state in the study: a
    resumed sweep (or another worker) asks exactly what an uninterrupted one would.
    """
    name = spec.optuna_sampler
    sampler_class = getattr(optuna.samplers, name)
    seed = int(np.random.SeedSequence([spec.seed, round_index]).generate_state(1)[0])
    try:
        return sampler_class(seed=seed)
    except TypeError:  # a sampler without a seed argument
        return sampler_class()


def _trial(spec, number: int, params, distributions) -> Trial:
    return Trial(number, complete_config({**spec.fixed, **decode(params, distributions)}))


def ask(
    study: optuna.Study, spec, count: int, distributions, round_index: int = 0
) -> list[tuple[Any, Trial]]:
    """`count` new trials: (Optuna trial, jaxtune Trial with trial_id = the Optuna number)."""
    study.sampler = make_sampler(spec, round_index)
    asked = []
    for _ in range(count):
        trial = study.ask(dict(distributions))
        trial.set_user_attr(ROUND_ATTR, round_index)
        asked.append((trial, _trial(spec, trial.number, trial.params, distributions)))
    return asked


def asked_rounds(study: optuna.Study, spec, distributions) -> list[list[tuple[Any, Trial]]]:
    """Every round asked so far, in order: (Optuna trial or None once told, jaxtune Trial).

    A trial still RUNNING (asked, not yet told: the round a killed sweep was training)
    comes back as a live `optuna.Trial` that can report and be told.
    """
    rounds: dict[int, list] = {}
    for frozen in study.get_trials(deepcopy=False):
        if ROUND_ATTR not in frozen.user_attrs:
            continue
        live = (
            optuna.Trial(study, frozen._trial_id)
            if frozen.state == optuna.trial.TrialState.RUNNING
            else None
        )
        trial = _trial(spec, frozen.number, frozen.params, distributions)
        rounds.setdefault(frozen.user_attrs[ROUND_ATTR], []).append((live, trial))
    return [sorted(rounds[r], key=lambda pair: pair[1].trial_id) for r in sorted(rounds)]


def tell(study: optuna.Study, trial, record: TrialRecord, metric: str) -> None:
    """Report the record's curve and tell its outcome."""
    for entry in record["history"]:
        value = entry.get(metric)
        if isinstance(value, float) and math.isfinite(value):
            trial.report(value, entry["epoch"])
    for key, value in trial_attrs(record).items():
        trial.set_user_attr(key, value)
    best = (record.get("best") or {}).get(metric)
    if record["status"] in ("completed", "stopped") and best is not None and math.isfinite(best):
        study.tell(trial, best)
    elif record["status"] == "pruned":
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    else:
        study.tell(trial, state=optuna.trial.TrialState.FAIL)


class BayesSearch:
    """method bayes as rounds: each round asks budget.ask_batch trials of the study.

    A resumed sweep first proposes the rounds it had asked, in order (each trial's round
    is a user attr), telling any whose result reached results.jsonl but not the study.
    """

    merged = 0

    def __init__(self, spec, study: optuna.Study, distributions, records, resume: bool):
        self.spec, self.study, self.distributions = spec, study, distributions
        self.total = spec.run_cap or spec.budget.max_configs
        self.by_id = {r["trial_id"]: r for r in records}
        self.rounds = asked_rounds(study, spec, distributions) if resume else []
        self._pending = list(self.rounds)
        self._live: dict[int, Any] = {}

    def propose(self) -> Round | None:
        notice = None
        if self._pending:
            asked = self._pending.pop(0)
        elif len(self.by_id) < self.total:
            count = min(self.spec.budget.ask_batch, self.total - len(self.by_id))
            asked = ask(self.study, self.spec, count, self.distributions, len(self.rounds))
            self.rounds.append(asked)
            notice = (
                f"{self.spec.optuna_sampler}: round of {len(asked)} configs "
                f"({len(self.by_id) + len(asked)}/{self.total})"
            )
        else:
            return None
        self._live = {trial.trial_id: optuna_trial for optuna_trial, trial in asked}
        for trial_id, optuna_trial in self._live.items():  # results on disk, never told
            if optuna_trial is not None and trial_id in self.by_id:
                tell(self.study, optuna_trial, self.by_id[trial_id], self.spec.metric)
        return Round([[trial for _, trial in asked]], notice)

    def observe(self, records: Sequence[dict[str, Any]]) -> None:
        for record in records:
            self.by_id[record["trial_id"]] = record
            tell(self.study, self._live[record["trial_id"]], record, self.spec.metric)

    def conclude(self) -> None:
        pass
