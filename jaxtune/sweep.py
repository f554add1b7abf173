"""Run a whole sweep from a spec: data, trials, plan, populations, results on disk."""

from __future__ import annotations

import dataclasses
import shutil
import time
from pathlib import Path
from typing import Any, Protocol

import jax

from jaxtune.data.synthetic import make_synthetic
from jaxtune.engine import Engine, EpochReport
from jaxtune.plan import PopulationPlan, Shapes, plan_populations
from jaxtune.results import RESULTS_FILE, rank, write_results
from jaxtune.samplers import grid
from jaxtune.spec import SpecError, SweepSpec


class Display(Protocol):
    def notice(self, message: str) -> None: ...
    def plan(self, spec: SweepSpec, plans: list[PopulationPlan], merged: int) -> None: ...
    def epoch(self, report: EpochReport) -> None: ...
    def population_done(self, index: int) -> None: ...


@dataclasses.dataclass
class SweepOutcome:
    directory: Path
    records: list[dict[str, Any]]  # ranked, best first
    seconds: float


def prepare_directory(directory: Path, spec: SweepSpec, overwrite: bool) -> None:
    """Create the sweep directory; never clobber an earlier sweep unless asked."""
    if (directory / RESULTS_FILE).exists() and not overwrite:
        raise SpecError(
            f"{directory}: already holds a sweep ({RESULTS_FILE}); "
            "choose another --out or pass --overwrite"
        )
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:  # --out names a file, or a parent is not writable
        raise SpecError(
            f"{directory}: cannot create the sweep directory: {error.strerror}"
        ) from None
    copy = directory / "spec.yaml"
    if not (copy.exists() and copy.samefile(spec.path)):  # rerun of a sweep from its own copy
        shutil.copyfile(spec.path, copy)
    (directory / RESULTS_FILE).unlink(missing_ok=True)


def run_sweep(
    spec: SweepSpec, directory: Path, display: Display, *, overwrite: bool = False
) -> SweepOutcome:
    start = time.perf_counter()
    for message in spec.notices:
        display.notice(message)
    trials, merged = grid(spec)
    dataset = make_synthetic(spec.data)
    max_memory_gb = spec.budget.max_memory_gb
    chunk = spec.budget.resolved_chunk(jax.default_backend())
    plans = plan_populations(
        trials,
        spec.budget.max_population,
        shapes=Shapes(dataset.vocab_size, dataset.num_classes, dataset.train.max_length),
        memory_budget=None if max_memory_gb is None else int(max_memory_gb * 2**30),
        chunk=chunk,
    )
    prepare_directory(directory, spec, overwrite)
    display.plan(spec, plans, merged)
    engine = Engine(
        dataset,
        seed=spec.seed,
        early_stopping=spec.train.early_stopping,
        eval_batch_size=spec.train.eval_batch_size,
        metric=spec.metric,
        goal=spec.goal,
        max_loss=spec.train.max_loss,
        chunk=chunk,
    )
    records = []
    for index, plan in enumerate(plans):
        records.extend(engine.run(plan, index, on_epoch=display.epoch))
        write_results(directory, records)  # after every population: a crash loses one at most
        display.population_done(index)
    return SweepOutcome(
        directory, rank(records, spec.metric, spec.goal), time.perf_counter() - start
    )
