"""W&B's `early_terminate: {type: hyperband}`: stop a running config whose metric at its
latest band is worse than that band's threshold over every config of the sweep.

The rule of wandb/sweeps `hyperband_stop_runs` (src/sweeps/hyperband_stopping.py), which
W&B's controller applies to a sweep's runs, here applied after each evaluation round:

- An iteration is one logged value of the sweep metric: one evaluation (every epoch, or
  every `train.eval_every` steps). Non-finite values are not logged values.
- Bands: with `min_iter`, `int(min_iter * eta**k)` for k = 0..99; with `max_iter` and `s`,
  `max_iter` divided by `eta` up to `s` times while it stays >= 1, ascending. (W&B reads
  `max_iter` first when a file sets both.)
- A band's threshold, over every config that has logged at least `band` values (running,
  finished, stopped, pruned, failed alike): `sorted(values)[int(len(values) / eta)]` of
  the values each logged at its `band`-th evaluation, negated for a maximize goal;
  infinite while no config has reached the band.
- A running config whose latest reached band is B is stopped when its value is worse than
  B's threshold: `strict` compares its value at evaluation B, otherwise its best value.

`strict`: W&B's documentation gives its default as false; its schema's default is true
and the controller fills it in, so W&B's service stops at the strict value unless a file
says `strict: false`. jaxtune follows the code: a W&B file behaves here as it does there.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from jaxtune.schedulers.base import Prune, Standing, Verdict

MIN_ITER_BANDS = 100  # how many bands W&B makes from min_iter


@dataclasses.dataclass(frozen=True)
class HyperbandStopping:
    bands: tuple[int, ...]  # evaluations at which configs are compared, ascending
    eta: float
    strict: bool = True

    @classmethod
    def of(
        cls,
        *,
        min_iter: int | None = None,
        max_iter: int | None = None,
        s: int | None = None,
        eta: float = 3,
        strict: bool = True,
    ) -> HyperbandStopping:
        """The bands as W&B computes them; ValueError when there are none."""
        if max_iter is not None:
            band, bands = max_iter, []
            for _ in range(s):
                band /= eta
                if band < 1:
                    break
                bands.append(int(band))
            bands.sort()
        elif min_iter is not None:
            band, bands = min_iter, []
            for _ in range(MIN_ITER_BANDS):
                bands.append(int(band))
                band *= eta
        else:
            raise ValueError("early_terminate needs min_iter, or max_iter and s")
        if not bands:
            raise ValueError(
                f"max_iter {max_iter} divided by eta {eta:g} is below 1: no band to stop "
                "configs at; raise max_iter or s, or lower eta"
            )
        return cls(tuple(bands), eta, strict)

    def describe(self) -> str:
        shown = ", ".join(map(str, self.bands[:4])) + (", ..." if len(self.bands) > 4 else "")
        return (
            f"early_terminate hyperband: configs compared at evaluations {shown}; "
            f"a config outside the best 1/{self.eta:g} there is pruned "
            f"({'its value there' if self.strict else 'its best so far'}, strict "
            f"{str(self.strict).lower()})"
        )

    def thresholds(self, histories: Sequence[Sequence[float]]) -> list[float]:
        """Each band's threshold over `histories` (every config's logged values, smaller
        better)."""
        out = []
        for band in self.bands:
            values = sorted(h[band - 1] for h in histories if len(h) >= band)
            # (1 / eta) * n as W&B writes it: n / eta rounds differently at some n.
            out.append(values[int((1.0 / self.eta) * len(values))] if values else math.inf)
        return out

    def verdicts(
        self,
        running: Mapping[int, Sequence[float]],
        others: Sequence[Sequence[float]],
        maximize: bool,
    ) -> dict[int, Verdict]:
        """The running configs to stop now.

        running: config id -> the values it has logged so far. others: the logged values
        of every other config of the sweep (finished or not). Values in the metric's sign.
        """
        sign = -1.0 if maximize else 1.0
        histories = [[sign * v for v in h] for h in (*running.values(), *others) if h]
        thresholds = self.thresholds(histories)
        stop = {}
        for key, logged in running.items():
            history = [sign * v for v in logged]
            reached = [
                (b, t) for b, t in zip(self.bands, thresholds, strict=True) if b <= len(history)
            ]
            if not reached:
                continue
            band, threshold = reached[-1]
            value = history[band - 1] if self.strict else min(history)
            if value > threshold:
                stop[key] = Verdict(band, sign * value, sign * threshold)
        return stop


def logged_values(history: Sequence[Mapping[str, Any]], metric: str) -> list[float]:
    """A config's logged values of `metric`: its evaluations' finite values, in order."""
    values = (entry.get(metric) for entry in history)
    return [
        float(v)
        for v in values
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
    ]


def population_pruner(
    rule: HyperbandStopping,
    metric: str,
    maximize: bool,
    earlier: Callable[[], Sequence[Mapping[str, Any]]],
) -> Prune:
    """The `prune` of `Engine.run`: after a round, the rule over the population's configs
    (running: the active ones) and the result records of every earlier config."""

    def prune(standing: Standing) -> dict[int, Verdict]:
        histories, active = standing.histories, standing.active
        running = {k: logged_values(h, metric) for k, h in enumerate(histories) if active[k]}
        others = [logged_values(h, metric) for k, h in enumerate(histories) if not active[k]]
        others += [logged_values(record["history"], metric) for record in earlier()]
        return rule.verdicts(running, others, maximize)

    return prune
