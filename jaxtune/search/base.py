"""The search interface: rounds of trials proposed, their results observed.

A `Search` proposes a `Round` at a time: batches of trials, each batch planned into
populations on its own and trained in order. It observes each population's result records
as the population finishes (so a kill loses at most one population's worth of what it
learned), and concludes the round once every batch has trained. `propose` returns None
when the search has nothing more to train.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from jaxtune.search.samplers import Trial
from jaxtune.spec import SpecError

if TYPE_CHECKING:  # the search package never loads the data
    from jaxtune.spec.resolve import ResolvedSpec


@dataclasses.dataclass(frozen=True)
class Round:
    batches: Sequence[Sequence[Trial]]  # each planned into populations on its own, in order
    notice: str | None = None  # what the round is, for the display


class Search(Protocol):
    merged: int  # duplicate configs merged when the trials were drawn (the plan says so)

    def propose(self) -> Round | None:
        """The next round to train, or None when there is nothing more to train."""

    def observe(self, records: Sequence[dict[str, Any]]) -> None:
        """The result records of one trained population."""

    def conclude(self) -> None:
        """The round just proposed has trained (or the time limit cut it short)."""


class Supply(Protocol):
    """New trials for a streaming population's freed slots, once its queue is empty
    (method bayes: BayesRefill). Engine.run tells it which trials have left their slots
    before it asks, and saves its position with each snapshot."""

    def ended(self, records: Sequence[dict[str, Any]]) -> None:
        """The result records of trials that have left their slots."""

    def take(self, fits: Callable[[dict[str, Any]], bool]) -> Trial | None:
        """A trial for one freed slot whose config `fits` the population, or None."""

    def position(self) -> int:
        """How far the supply has gone (saved with a snapshot)."""

    def restore(self, position: int) -> None:
        """Continue from a snapshot's position."""

    def trial(self, trial_id: int) -> Trial:
        """A trial it supplied before the snapshot."""


def run_rounds(
    search: Search, train: Callable[[Round], None], out_of_time: Callable[[], bool]
) -> None:
    """Every round the search proposes, until it has none or the time limit has passed."""
    while not out_of_time():
        round_ = search.propose()
        if round_ is None:
            return
        train(round_)
        search.conclude()


def check_extensible(spec) -> None:
    """--n-more extends method random or bayes only (a grid's configs are the spec's)."""
    if spec.method not in ("random", "bayes"):
        raise SpecError(
            f"{spec.path}: method: --n-more extends method random or bayes; "
            f"found {spec.method}, whose configs are fixed by the spec"
        )


def extended(spec: ResolvedSpec, extra: int) -> ResolvedSpec:
    """The spec of a sweep extended by `extra` configs (`jaxtune resume --n-more`).

    Random draws and bayes rounds continue where the sweep stopped: a larger run_cap
    keeps the configs already drawn as its first ones, and the study holds the rest.
    """
    if extra == 0:
        return spec
    check_extensible(spec)
    count = spec.run_cap if spec.run_cap is not None else spec.budget.max_configs
    cap = spec.budget.max_configs
    budget = dataclasses.replace(spec.budget, max_configs=None if cap is None else cap + extra)
    return dataclasses.replace(spec, run_cap=count + extra, budget=budget)
