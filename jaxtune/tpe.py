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
from collections.abc import Mapping
from typing import Any

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from jaxtune.distributions import Distribution
from jaxtune.samplers import Trial
from jaxtune.space import complete_config
from jaxtune.study import choice, trial_attrs


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


def optuna_distributions(spec) -> dict[str, BaseDistribution]:
    """Every swept hyperparameter as an Optuna distribution (those Optuna can express)."""
    out = {
        name: CategoricalDistribution([choice(v) for v in values])
        for name, values in spec.parameters.items()
    }
    for name, dist in spec.distributions.items():
        converted = to_optuna(dist)
        if converted is not None:
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


def make_sampler(spec) -> optuna.samplers.BaseSampler:
    name = spec.optuna_sampler
    sampler_class = getattr(optuna.samplers, name)
    try:
        return sampler_class(seed=spec.seed)
    except TypeError:  # a sampler without a seed argument
        return sampler_class()


def ask(study: optuna.Study, spec, count: int, distributions) -> list[tuple[Any, Trial]]:
    """`count` new trials: (Optuna trial, jaxtune Trial with trial_id = the Optuna number)."""
    asked = []
    for _ in range(count):
        trial = study.ask(dict(distributions))
        config = complete_config({**spec.fixed, **decode(trial.params, distributions)})
        asked.append((trial, Trial(trial.number, config)))
    return asked


def tell(study: optuna.Study, trial, record: Mapping[str, Any], metric: str) -> None:
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
