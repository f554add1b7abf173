"""Population-based training (`scheduler: {type: pbt}`), with Ray Tune's semantics: every
`perturbation_interval` evaluations, the bottom quantile of the running configs copies
the training state of a top-quantile config (exploit: a gather on the config axis) and
takes its hyperparameters, each mutated (explore).

From ray/tune/schedulers/pbt.py (`PopulationBasedTraining`, synchronous: a population's
configs are evaluated together):

- Quantiles: the running configs sorted by their latest value of the sweep metric,
  worst first; `ceil(n * quantile_fraction)` at each end, at most `floor(n / 2)`; none
  with fewer than two configs.
- Exploit: each bottom config, in slot order, copies a top config drawn uniformly: its
  params, optimizer state and learning-rate scale (reduce-on-plateau), so it continues
  from where that config is. Its own key, step count, budget and history stay its own.
- Explore: each hyperparameter of `hyperparam_mutations` starts from the top config's
  value. A list of values is resampled uniformly with `resample_probability` (or when
  the value is not in it), else moves one index left or right (clipped at the ends); a
  distribution is resampled from it with `resample_probability`, else multiplied by one
  of `perturbation_factors` drawn uniformly. Unlike Ray, a product outside the
  distribution's bounds is clipped to them (a W&B distribution has bounds; Ray's
  callables do not), and one the hyperparameter refuses keeps the top config's value.

Draws come from a generator seeded by (the sweep's seed, the population, the round), so a
resumed sweep perturbs exactly as the uninterrupted one.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from jaxtune.distributions import Distribution, draw_valid, value_range
from jaxtune.space import HPARAMS
from jaxtune.values import SpaceError

# The hyperparameters a running config's step reads as traced values, which PBT may change
# between rounds without recompiling anything.
MUTABLE = (
    "learning_rate",
    "beta1",
    "beta2",
    "momentum",
    "rho",
    "weight_decay",
    "dropout",
    "recurrent_dropout",
    "label_smoothing",
    "focal_gamma",
)


@dataclasses.dataclass(frozen=True)
class Mutation:
    """How one hyperparameter is explored: a list of values, or a distribution."""

    name: str
    values: tuple = ()
    distribution: Distribution | None = None

    def explore(self, value: Any, rng: np.random.Generator, pbt: PopulationBasedTraining):
        parse = HPARAMS[self.name].parse
        if self.values:
            # The value as the population holds it (float32): the listed value it rounds.
            at = [i for i, v in enumerate(self.values) if math.isclose(v, value, rel_tol=1e-6)]
            if rng.random() < pbt.resample_probability or not at:
                return self.values[int(rng.integers(len(self.values)))]
            index = at[0] + (-1 if rng.random() < 0.5 else 1)
            return self.values[min(max(index, 0), len(self.values) - 1)]
        if rng.random() < pbt.resample_probability:
            return draw_valid(self.distribution, parse, rng)
        factor = pbt.perturbation_factors[int(rng.integers(len(pbt.perturbation_factors)))]
        product = value * factor
        low, high = value_range(self.distribution)
        if math.isfinite(low) and math.isfinite(high):
            product = min(max(product, low), high)
        if isinstance(value, int) and not isinstance(value, bool):
            product = int(product)
        try:
            return parse(product)
        except SpaceError:
            return value


@dataclasses.dataclass(frozen=True)
class Perturbation:
    """One bottom config's exploit and explore: whose state it copies, and its new values."""

    slot: int  # the config that is perturbed (index into the population's configs)
    source: int  # the top config it copies
    hparams: dict[str, Any]  # the mutated hyperparameters' new values


@dataclasses.dataclass(frozen=True)
class PopulationBasedTraining:
    perturbation_interval: int
    mutations: tuple[Mutation, ...]
    quantile_fraction: float = 0.25
    resample_probability: float = 0.25
    perturbation_factors: tuple[float, ...] = (1.2, 0.8)
    seed: int = 0

    def quantiles(self, scores: Mapping[int, float]) -> tuple[list[int], list[int]]:
        """(bottom, top): config indices by score (larger is better), worst first."""
        ranked = sorted(scores, key=lambda k: (scores[k], k))
        if len(ranked) <= 1:
            return [], []
        count = math.ceil(len(ranked) * self.quantile_fraction)
        if count > len(ranked) / 2:
            count = math.floor(len(ranked) / 2)
        return ranked[:count], ranked[len(ranked) - count :]

    def due(self, evaluations: int) -> bool:
        return evaluations % self.perturbation_interval == 0

    def perturb(
        self,
        scores: Mapping[int, float],
        values: Sequence[Mapping[str, Any]],
        round_key: Sequence[int],
    ) -> list[Perturbation]:
        """The perturbations of one round.

        scores: each running config's latest metric value, larger better. values: every
        config's current values of the mutated hyperparameters. round_key: what seeds
        the draws with the sweep's seed (the population, the round).
        """
        rng = np.random.default_rng([self.seed, *round_key])
        bottom, top = self.quantiles(scores)
        out = []
        for slot in sorted(bottom):
            source = top[int(rng.integers(len(top)))]
            new = {m.name: m.explore(values[source][m.name], rng, self) for m in self.mutations}
            out.append(Perturbation(slot, source, new))
        return out

    def describe(self) -> str:
        names = ", ".join(m.name for m in self.mutations)
        return (
            f"scheduler pbt: every {self.perturbation_interval} evaluations the worst "
            f"{self.quantile_fraction:g} of the running configs copy one of the best "
            f"{self.quantile_fraction:g} and perturb {names}"
        )
