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
from collections.abc import Callable, Mapping, Sequence
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
REFILL_ATTR = "jaxtune_refill"  # user attr: [round, population] of a freed slot's ask


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


def make_sampler(spec, *entropy: int) -> optuna.samplers.BaseSampler:
    """The sampler of one ask round (entropy: the round), or of one freed slot's ask
    (round, population, ask), seeded from the spec's seed and `entropy`.

    A fresh seeded sampler per ask round keeps the whole search state in the study: a
    resumed sweep (or another worker) asks exactly what an uninterrupted one would.
    """
    name = spec.optuna_sampler
    sampler_class = getattr(optuna.samplers, name)
    seed = int(np.random.SeedSequence([spec.seed, *entropy]).generate_state(1)[0])
    try:
        return sampler_class(seed=seed)
    except TypeError:  # a sampler without a seed argument
        return sampler_class()


def trial_of(spec, number: int, params, distributions) -> Trial:
    """The jaxtune Trial of an Optuna trial's params (its id: the Optuna number)."""
    return Trial(number, complete_config({**spec.fixed, **decode(params, distributions)}))


def ask(
    study: optuna.Study,
    spec,
    count: int,
    distributions,
    round_index: int = 0,
    entropy: tuple[int, ...] | None = None,
    attrs: Mapping[str, Any] | None = None,
) -> list[tuple[Any, Trial]]:
    """`count` new trials: (Optuna trial, jaxtune Trial with trial_id = the Optuna number).

    Each is marked as asked in round `round_index` (ROUND_ATTR), or with `attrs` instead;
    the sampler is seeded by the round, or by `entropy`.
    """
    study.sampler = make_sampler(spec, *(entropy or (round_index,)))
    asked = []
    for _ in range(count):
        trial = study.ask(dict(distributions))
        for key, value in (attrs or {ROUND_ATTR: round_index}).items():
            trial.set_user_attr(key, value)
        asked.append((trial, trial_of(spec, trial.number, trial.params, distributions)))
    return asked


def _live(study: optuna.Study, frozen) -> optuna.Trial | None:
    """The trial to report to and tell; None once told (a resumed sweep's earlier trials)."""
    if frozen.state == optuna.trial.TrialState.RUNNING:
        return optuna.Trial(study, frozen._trial_id)
    return None


def asked_rounds(study: optuna.Study, spec, distributions) -> list[list[tuple[Any, Trial]]]:
    """Every round asked so far, in order: (Optuna trial or None once told, jaxtune Trial).

    A trial still RUNNING (asked, not yet told: the round a killed sweep was training)
    comes back as a live `optuna.Trial` that can report and be told.
    """
    rounds: dict[int, list] = {}
    for frozen in study.get_trials(deepcopy=False):
        if ROUND_ATTR not in frozen.user_attrs:
            continue
        trial = trial_of(spec, frozen.number, frozen.params, distributions)
        rounds.setdefault(frozen.user_attrs[ROUND_ATTR], []).append((_live(study, frozen), trial))
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

    A round's trials are the study's trials marked with its index: a resumed sweep
    proposes the rounds it had asked again, in order (telling any trial whose result
    reached results.jsonl but not the study), and asks only what they lack. A sweep that
    streams (a pruning scheduler, plan.streamed) asks the sampler for each freed slot
    (`supply`); a trial asked there that another program runs waits for the next round.
    """

    merged = 0

    def __init__(self, spec, study: optuna.Study, distributions, records):
        self.spec, self.study, self.distributions = spec, study, distributions
        self.total = spec.run_cap or spec.budget.max_configs
        self.by_id = {r["trial_id"]: r for r in records}
        self.proposed = 0  # rounds proposed so far
        self.live: dict[
            int, Any
        ] = {}  # the trials in training: their Optuna trial, or None once told

    def asked(self) -> int:
        """Trials asked so far, in rounds or for freed slots."""
        return sum(
            ROUND_ATTR in t.user_attrs or REFILL_ATTR in t.user_attrs
            for t in self.study.get_trials(deepcopy=False)
        )

    def propose(self) -> Round | None:
        index = self.proposed
        members = [
            (_live(self.study, frozen), self.rebuild(frozen))
            for frozen in self.study.get_trials(deepcopy=False)
            if frozen.user_attrs.get(ROUND_ATTR) == index
        ]
        # A round not yet trained (new, or holding the trials of freed slots deferred to
        # it) is filled to ask_batch; one a kill interrupted is trained as it was asked.
        fresh = all(live is not None and t.trial_id not in self.by_id for live, t in members)
        fill = min(self.spec.budget.ask_batch - len(members), self.total - self.asked())
        notice = None
        if fresh and fill > 0:
            members += ask(self.study, self.spec, fill, self.distributions, index)
            notice = (
                f"{self.spec.optuna_sampler}: round of {len(members)} configs "
                f"({self.asked()}/{self.total})"
            )
        if not members:
            return None
        self.proposed += 1
        self.live = {trial.trial_id: live for live, trial in members}
        self.observe([self.by_id[t] for t in self.live if t in self.by_id])  # never told
        return Round([[trial for _, trial in members]], notice)

    def rebuild(self, frozen) -> Trial:
        return trial_of(self.spec, frozen.number, frozen.params, self.distributions)

    def observe(self, records: Sequence[dict[str, Any]]) -> None:
        for record in records:
            self.by_id[record["trial_id"]] = record
            live = self.live.get(record["trial_id"])
            if live is not None:
                tell(self.study, live, record, self.spec.metric)
                self.live[record["trial_id"]] = None

    def conclude(self) -> None:
        pass

    def supply(self, population: int) -> BayesRefill:
        """The trials for the freed slots of this round's population `population`."""
        return BayesRefill(self, self.proposed - 1, population)


class BayesRefill:
    """A streaming population's freed slots asking the study for trials (engine.Supply).

    Each ask comes after the study was told about every trial that has left its slot,
    so TPE has seen every finished and pruned trial so far. An asked trial that the
    population cannot run (another static group, a variant its program lacks) waits for
    the next round. Each ask is marked with (round, population) in REFILL_ATTR: after a
    kill, the asks after the snapshot's `position` are replayed, not asked again, so a
    resumed stream takes the trials an uninterrupted one took. Once `ask_batch` trials
    wait for the next round, a freed slot asks no more: a population whose program few
    asks fit would otherwise spend the whole budget deferring (measured: one spent 24
    asks, 18 deferred, before TPE had seen a second round).
    """

    def __init__(self, search: BayesSearch, round_index: int, population: int):
        self.search, self.round = search, round_index
        self.key = [round_index, population]
        self.restore(0)

    def restore(self, position: int) -> None:
        """Continue after this stream's `position`-th ask."""
        asks = [
            frozen
            for frozen in self.search.study.get_trials(deepcopy=False)
            if frozen.user_attrs.get(REFILL_ATTR) == self.key
        ]
        self.asks = position
        self._replay = sorted(asks, key=lambda frozen: frozen.number)[position:]

    def position(self) -> int:
        return self.asks

    def trial(self, trial_id: int) -> Trial:
        """A trial this stream took before its snapshot (trial id = Optuna number)."""
        frozen = self.search.study.get_trials(deepcopy=False)[trial_id]
        self.search.live[trial_id] = _live(self.search.study, frozen)
        return self.search.rebuild(frozen)

    def ended(self, records: Sequence[TrialRecord]) -> None:
        """Trials that left their slots: told now, so the next ask sees them."""
        self.search.observe(records)

    def take(self, fits: Callable[[dict[str, Any]], bool]) -> Trial | None:
        """A new trial for a freed slot, or None (deferred, or the budget is spent)."""
        search = self.search
        if self._replay:
            frozen = self._replay.pop(0)
            self.asks += 1
            trial, live = search.rebuild(frozen), _live(search.study, frozen)
            if ROUND_ATTR in frozen.user_attrs or not fits(trial.config):
                if live is not None:  # deferred then (marked now if a kill came first)
                    live.set_user_attr(ROUND_ATTR, self.round + 1)
                return None
            search.live[trial.trial_id] = live
            return trial
        if search.asked() >= search.total:
            return None
        waiting = sum(
            t.user_attrs.get(ROUND_ATTR) == self.round + 1
            for t in search.study.get_trials(deepcopy=False)
        )
        if waiting >= search.spec.budget.ask_batch:
            return None  # a round's worth waits already: the budget is kept for later rounds
        entropy = (*self.key, self.asks)
        [(live, trial)] = ask(
            search.study,
            search.spec,
            1,
            search.distributions,
            entropy=entropy,
            attrs={REFILL_ATTR: self.key},
        )
        self.asks += 1
        if not fits(trial.config):
            live.set_user_attr(ROUND_ATTR, self.round + 1)  # the next round trains it
            return None
        search.live[trial.trial_id] = live
        return trial
