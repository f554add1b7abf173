"""Samplers turn a spec into trials: complete configs with stable trial ids."""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from jaxtune.distributions import DistributionError, draw_valid
from jaxtune.replicates import expand
from jaxtune.space import complete_config, hparam
from jaxtune.spec import SpecError, SweepSpec


@dataclasses.dataclass(frozen=True)
class Trial:
    trial_id: int  # also the fold_in index of the trial's PRNG key
    config: dict[str, Any]  # complete: every hyperparameter has a value
    # one_at_a_time: the hyperparameters whose study this config is part of (the baseline
    # is in every one, a varied config in one); empty for grid and random
    studies: tuple[str, ...] = ()
    name: str | None = None  # a named config's name (spec `configs`)


def sample(spec: SweepSpec) -> tuple[list[Trial], int]:
    """The trials of `spec.method` and how many duplicate configs were merged; with
    `repeats`, each config's seed replicates (replicates.py)."""
    if spec.named:
        trials, merged = named_configs(spec)
    else:
        samplers = {"grid": grid, "random": random_search, "one_at_a_time": one_at_a_time}
        trials, merged = samplers[spec.method](spec)
    return expand(trials, spec.repeats), merged


def named_configs(spec: SweepSpec) -> tuple[list[Trial], int]:
    """Each named config over the spec's fixed values, in spec order; nothing merged."""
    trials = [
        Trial(i, complete_config({**spec.fixed, **values}), name=name)
        for i, (name, values) in enumerate(spec.named.items())
    ]
    return _capped(spec, trials, "configs"), 0


def _merge(
    configs: Iterable[Mapping[str, Any]], studies: Iterable[tuple[str, ...]] | None = None
) -> list[Trial]:
    """Complete configs, duplicates merged (their studies joined), numbered in first-seen order.

    Two configs are duplicates when they differ only in values their architecture ignores
    (a CNN's `hidden_size`).
    """
    merged: dict[tuple, tuple[dict, list[str]]] = {}
    for values, names in zip(configs, studies or itertools.repeat(()), strict=studies is not None):
        config = complete_config(values)
        _, joined = merged.setdefault(tuple(config.items()), (config, []))
        joined.extend(n for n in names if n not in joined)
    return [Trial(i, c, tuple(names)) for i, (c, names) in enumerate(merged.values())]


def _capped(spec: SweepSpec, trials: list[Trial], what: str) -> list[Trial]:
    """W&B's run_cap keeps the first configs; budget.max_configs refuses more than it allows."""
    if spec.run_cap is not None:
        trials = trials[: spec.run_cap]
    cap = spec.budget.max_configs
    if cap is not None and len(trials) > cap:
        raise SpecError(
            f"{spec.path}: budget.max_configs: {what} has {len(trials)} configs, "
            f"above the cap of {cap}; raise the cap or sweep fewer values"
        )
    return trials


def grid(spec: SweepSpec) -> tuple[list[Trial], int]:
    """Every combination of the swept values, in spec order, with duplicates merged.

    Returns the trials and the number merged.
    """
    names = list(spec.parameters)
    combinations = itertools.product(*(spec.parameters[n] for n in names))
    trials = _merge({**spec.fixed, **dict(zip(names, c, strict=True))} for c in combinations)
    total = math.prod(len(values) for values in spec.parameters.values())
    return _capped(spec, trials, "the grid"), total - len(trials)


def one_at_a_time(spec: SweepSpec) -> tuple[list[Trial], int]:
    """The baseline config, then each swept hyperparameter's values with the others at baseline.

    The classic controlled study: a hyperparameter's study is the baseline plus its varied
    configs, so its effect is read off with everything else held fixed. The baseline is
    trained once (1 + sum(len(values) - 1) configs); the number returned as merged counts
    only configs that collapse beyond that (a value the architecture ignores).
    """
    names = list(spec.parameters)
    baseline = {**spec.fixed, **{n: spec.baselines[n] for n in names}}
    configs, studies = [baseline], [tuple(names)]
    for name in names:
        for value in spec.parameters[name]:
            configs.append({**baseline, name: value})
            studies.append((name,))
    trials = _merge(configs, studies)
    expected = 1 + sum(len(values) - 1 for values in spec.parameters.values())
    return _capped(spec, trials, "the one_at_a_time study"), expected - len(trials)


def random_search(spec: SweepSpec) -> tuple[list[Trial], int]:
    """run_cap (else budget.max_configs) configs drawn with a generator seeded by spec.seed.

    Each config draws its hyperparameters in turn: a listed value uniformly, a distribution
    by its W&B formula (see distributions.py). Drawing is deterministic for a seed, and a
    larger run_cap keeps the configs of a smaller one as its first ones. Duplicate configs
    are merged; the number merged is returned with the trials.
    """
    count = spec.run_cap if spec.run_cap is not None else spec.budget.max_configs
    if count is None:
        raise SpecError(
            f"{spec.path}: run_cap: missing; method random needs run_cap or "
            "budget.max_configs (how many configs to draw)"
        )
    cap = spec.budget.max_configs
    if cap is not None and count > cap:
        raise SpecError(
            f"{spec.path}: budget.max_configs: run_cap asks for {count} random configs, "
            f"above the cap of {cap}; raise the cap or lower run_cap"
        )
    rng = np.random.default_rng(spec.seed)
    configs = []
    for _ in range(count):
        drawn = {}
        for name, values in spec.parameters.items():
            drawn[name] = values[int(rng.integers(len(values)))]
        for name, distribution in spec.distributions.items():
            try:
                drawn[name] = draw_valid(distribution, hparam(name).parse, rng)
            except DistributionError as error:
                raise SpecError(f"{spec.path}: parameters.{name}: {error}") from None
        configs.append({**spec.fixed, **drawn})
    trials = _merge(configs)
    return trials, count - len(trials)
