"""Optuna's successive halving (asynchronous, ASHA) and hyperband pruners, as pruning rules
over a population's standing (`scheduler: {type: asha | hyperband}`).

The arithmetic is Optuna's (optuna/pruners/_successive_halving.py, _hyperband.py, 5.x),
with one step of a config = one of its evaluations (1, 2, ...), the steps jaxtune reports
to the sweep's Optuna study as intermediate values:

- Rung r's promotion step is `min_resource * reduction_factor ** (min_early_stopping_rate
  + r)`. A config reporting that step has completed rung r: its value there joins the
  rung's values, and it is pruned unless it is promotable: among the values every config
  has reached the rung with so far (its own included), it must be within the best
  `len // reduction_factor` (the best one while fewer than `reduction_factor` have
  reached it); with `bootstrap_count`, it is pruned while no more than that many have.
  A NaN value is pruned at once. Every config ever trained in the sweep counts: pruned,
  finished and running alike, earlier populations included.
- Optuna's trials report one at a time; a population's configs report in the same round.
  Here they report in slot order, so a config compares with the configs that reached the
  rung in an earlier round and with those before it in this round: the order a per-trial
  tuner sees when trials finish their steps in that order.
- Hyperband runs one successive halving per bracket (bracket b's `min_early_stopping_rate`
  is b); a config joins the bracket crc32(f"{sweep name}_{trial id}") picks, weighted by
  each bracket's trial budget, and compares with its bracket's configs only.

Where Optuna estimates a resource from the first completed trial ("auto"), jaxtune knows
every config's evaluations before it starts and uses the most a config's budget holds
(`spec/scheduler.py`); it never waits for a trial to complete before pruning.
"""

from __future__ import annotations

import binascii
import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from jaxtune.schedulers.base import Prune, Standing, Verdict


@dataclasses.dataclass(frozen=True)
class SuccessiveHalving:
    min_resource: int = 1
    reduction_factor: int = 4
    min_early_stopping_rate: int = 0
    bootstrap_count: int = 0
    name: str = "asha"  # the scheduler.type whose verdicts these are

    def promotion_step(self, rung: int) -> int:
        return self.min_resource * self.reduction_factor ** (self.min_early_stopping_rate + rung)

    def rung_at(self, step: int) -> int | None:
        """The rung whose promotion step is `step`, or None."""
        rung = 0
        while self.promotion_step(rung) < step:
            rung += 1
        return rung if self.promotion_step(rung) == step else None

    def judge(self, step: int, value: float, competing: Sequence[float], maximize: bool):
        """The verdict on a config reporting `value` at its rung's promotion `step`, or
        None when it is promoted. competing: every value at the rung, `value` included."""
        rung = self.rung_at(step)
        if math.isnan(value):
            return Verdict(step, value, math.nan, self.name, rung, len(competing))
        if len(competing) <= self.bootstrap_count:
            return Verdict(step, value, math.nan, self.name, rung, len(competing))
        index = max(len(competing) // self.reduction_factor - 1, 0)
        ranked = sorted(competing)
        cutoff = ranked[-(index + 1)] if maximize else ranked[index]
        if (value >= cutoff) if maximize else (value <= cutoff):
            return None
        return Verdict(step, value, cutoff, self.name, rung, len(competing))

    def bracket(self, trial_id: int) -> int:
        return 0

    def halving(self, bracket: int) -> SuccessiveHalving:
        return self

    def describe(self) -> str:
        steps = ", ".join(str(self.promotion_step(r)) for r in range(3))
        return (
            f"scheduler asha: rungs at evaluations {steps}, ...; a config outside the best "
            f"1/{self.reduction_factor} of those that reached its rung is pruned"
        )


@dataclasses.dataclass(frozen=True)
class Hyperband:
    min_resource: int
    max_resource: int
    reduction_factor: int = 3
    bootstrap_count: int = 0
    study_name: str = ""  # the sweep's name, which Optuna hashes with the trial number

    @property
    def brackets(self) -> int:
        # Optuna's expression, float log included, so both count the same brackets.
        ratio = self.max_resource / self.min_resource
        return math.floor(math.log(ratio, self.reduction_factor)) + 1

    def budgets(self) -> list[int]:
        """Each bracket's trial allocation budget (Hyperband's n, as a ratio)."""
        n = self.brackets
        return [math.ceil(n * self.reduction_factor ** (n - 1 - b) / (n - b)) for b in range(n)]

    def bracket(self, trial_id: int) -> int:
        budgets = self.budgets()
        n = binascii.crc32(f"{self.study_name}_{trial_id}".encode()) % sum(budgets)
        for bracket, budget in enumerate(budgets):
            n -= budget
            if n < 0:
                return bracket
        raise AssertionError("a crc32 modulo the total budget falls in some bracket")

    def halving(self, bracket: int) -> SuccessiveHalving:
        return SuccessiveHalving(
            self.min_resource, self.reduction_factor, bracket, self.bootstrap_count, "hyperband"
        )

    def describe(self) -> str:
        return (
            f"scheduler hyperband: {self.brackets} brackets of successive halving from "
            f"{self.min_resource} to {self.max_resource} evaluations, reduction factor "
            f"{self.reduction_factor}"
        )


def metric_values(history: Sequence[Mapping[str, Any]], metric: str) -> list[float]:
    """A config's value of `metric` at each of its evaluations (NaN where it has none)."""
    out = []
    for entry in history:
        value = entry.get(metric)
        number = isinstance(value, int | float) and not isinstance(value, bool)
        out.append(float(value) if number else math.nan)
    return out


def halving_pruner(
    rule: SuccessiveHalving | Hyperband,
    metric: str,
    maximize: bool,
    earlier: Callable[[], Sequence[Mapping[str, Any]]],
) -> Prune:
    """The `prune` of `Engine.run`: each config of the round that reached a rung is judged
    against its bracket's values there: earlier records', the population's configs that
    reached the rung in an earlier round, and those before it in this round."""

    def prune(standing: Standing) -> dict[int, Verdict]:
        values = [metric_values(h, metric) for h in standing.histories]
        brackets = [rule.bracket(t) for t in standing.trial_ids]
        past = [
            (rule.bracket(r["trial_id"]), metric_values(r["history"], metric)) for r in earlier()
        ]
        order = {k: i for i, k in enumerate(standing.reported)}
        verdicts = {}
        for k in standing.reported:
            step, bracket = len(values[k]), brackets[k]
            halving = rule.halving(bracket)
            if halving.rung_at(step) is None:
                continue
            competing = [v[step - 1] for b, v in past if b == bracket and len(v) >= step]
            competing += [values[j][step - 1] for j in _before(k, step, values, brackets, order)]
            competing = [c for c in competing if not math.isnan(c)] + [values[k][step - 1]]
            verdict = halving.judge(step, values[k][step - 1], competing, maximize)
            if verdict is not None:
                verdicts[k] = verdict
        return verdicts

    return prune


def _before(k: int, step: int, values, brackets, order: Mapping[int, int]) -> list[int]:
    """The population's configs of k's bracket that reached evaluation `step` before k
    reported it: in an earlier round, or earlier in this round's (slot) order."""
    return [
        j
        for j in range(len(values))
        if j != k
        and brackets[j] == brackets[k]
        and len(values[j]) >= step
        and (len(values[j]) > step or order.get(j, -1) < order[k])
    ]
