"""Run a whole sweep from a spec: data, trials, plan, populations, results on disk."""

from __future__ import annotations

import dataclasses
import shutil
import time
from pathlib import Path
from typing import Any, Protocol

import jax
import numpy as np

from jaxtune import tpe
from jaxtune.checkpoints import PARAMS_DIR
from jaxtune.data.files import DataError
from jaxtune.data.sources import TOKENIZER_FILE, DataReport, load_dataset
from jaxtune.engine import Engine, EpochReport, balanced_class_weights
from jaxtune.plan import PopulationPlan, Shapes, plan_populations
from jaxtune.results import FINAL_FILE, RESULTS_FILE, SWEEP_FILE, rank, write_json, write_results
from jaxtune.samplers import sample
from jaxtune.spec import SpecError, SweepSpec
from jaxtune.study import STUDY_FILE, open_study, record_trials
from jaxtune.tracking import WandbTracker


class Display(Protocol):
    def notice(self, message: str) -> None: ...
    def data(self, report: DataReport) -> None: ...
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
    if overwrite:  # a new sweep builds its own vocabulary
        for name in (TOKENIZER_FILE, "tokenizer.settings.json", "encoded.npz", STUDY_FILE):
            (directory / name).unlink(missing_ok=True)
        for name in (PARAMS_DIR, FINAL_FILE, SWEEP_FILE, "wandb"):
            path = directory / name
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
    copy = directory / "spec.yaml"
    if not (copy.exists() and copy.samefile(spec.path)):  # rerun of a sweep from its own copy
        shutil.copyfile(spec.path, copy)
    (directory / RESULTS_FILE).unlink(missing_ok=True)


def with_pretrained_width(spec: SweepSpec, report: DataReport) -> SweepSpec:
    """Pretrained vectors fix embedding_dim to their width; a different value is an error."""
    if report.embedding is None:
        return spec
    width = int(report.embedding.shape[1])
    where = f"{spec.path}: data.embedding.pretrained"
    if "embedding_dim" in spec.parameters:
        raise SpecError(
            f"{where}: vectors of width {width} fix embedding_dim; remove "
            f"parameters.embedding_dim (found {spec.parameters['embedding_dim']})"
        )
    if spec.fixed.get("embedding_dim", width) != width:
        raise SpecError(
            f"{where}: vectors of width {width}, but embedding_dim is "
            f"{spec.fixed['embedding_dim']}; set it to {width} or remove it"
        )
    return dataclasses.replace(spec, fixed={**spec.fixed, "embedding_dim": width})


def class_weights_for(spec: SweepSpec, labels: np.ndarray, label_names) -> tuple | None:
    weights = spec.train.class_weights
    if weights == "none":
        return None
    if weights == "balanced":
        return balanced_class_weights(labels, len(label_names))
    if len(weights) != len(label_names):
        raise SpecError(
            f"{spec.path}: train.class_weights: expected {len(label_names)} weights "
            f"(one per class: {', '.join(label_names)}), found {len(weights)}"
        )
    return weights


def run_sweep(
    spec: SweepSpec,
    directory: Path,
    display: Display,
    *,
    overwrite: bool = False,
    data_dir: str | Path | None = None,
    storage: str | None = None,
    wandb_mode: str = "offline",
) -> SweepOutcome:
    start = time.perf_counter()
    for message in spec.notices:
        display.notice(message)
    if spec.method != "bayes":
        sample(spec)  # a sample above budget.max_configs fails before any data is read
    created = not directory.exists()
    prepare_directory(directory, spec, overwrite)
    try:
        dataset, report = load_dataset(spec.data, cache_dir=directory, data_dir=data_dir)
        spec = with_pretrained_width(spec, report)
    except (DataError, SpecError):
        if created:  # bad data leaves no half-made sweep directory behind
            shutil.rmtree(directory, ignore_errors=True)
        raise
    display.data(report)
    chunk = spec.budget.resolved_chunk(jax.default_backend())
    max_memory_gb = spec.budget.max_memory_gb

    def plan(trials):
        return plan_populations(
            trials,
            spec.budget.max_population,
            shapes=Shapes(dataset.vocab_size, dataset.num_classes, max(report.buckets)),
            memory_budget=None if max_memory_gb is None else int(max_memory_gb * 2**30),
            chunk=chunk,
        )

    engine = Engine(
        dataset,
        seed=spec.seed,
        early_stopping=spec.train.early_stopping,
        eval_batch_size=spec.train.eval_batch_size,
        metric=spec.metric,
        goal=spec.goal,
        max_loss=spec.train.max_loss,
        chunk=chunk,
        buckets=report.buckets if len(report.buckets) > 1 else None,
        embedding=report.embedding,
        class_weights=class_weights_for(spec, dataset.train.labels, dataset.label_names),
        params_dir=directory,
    )
    sampler = tpe.make_sampler(spec) if spec.method == "bayes" else None
    study = open_study(directory, spec.name, spec.goal, storage, fresh=overwrite, sampler=sampler)
    distributions = tpe.optuna_distributions(spec)
    tracker = WandbTracker(wandb_mode, directory, spec.name)
    records = []
    populations = 0

    def train(plans, tell=None):
        nonlocal populations
        for population in plans:
            finished = engine.run(population, populations, on_epoch=display.epoch)
            records.extend(finished)
            write_results(directory, records)  # after every population: a crash loses one
            tracker.log_records(finished)
            if tell is None:
                record_trials(study, finished, spec.metric, distributions)
            else:
                for record in finished:
                    tell(record)
            display.population_done(populations)
            populations += 1

    if spec.method == "bayes":
        total = spec.run_cap or spec.budget.max_configs
        display.plan(spec, [], 0)
        while len(records) < total:
            asked = tpe.ask(
                study, spec, min(spec.budget.ask_batch, total - len(records)), distributions
            )
            by_number = {optuna_trial.number: optuna_trial for optuna_trial, _ in asked}
            display.notice(
                f"{spec.optuna_sampler}: round of {len(asked)} configs "
                f"({len(records) + len(asked)}/{total})"
            )
            train(
                plan([trial for _, trial in asked]),
                lambda record, asked_by=by_number: tpe.tell(
                    study, asked_by[record["trial_id"]], record, spec.metric
                ),
            )
    else:
        trials, merged = sample(spec)
        plans = plan(trials)
        display.plan(spec, plans, merged)
        train(plans)
    if tracker.error is not None:
        display.notice(f"W&B tracking was turned off after an error: {tracker.error}")
    seconds = time.perf_counter() - start
    write_json(
        directory / SWEEP_FILE,
        {
            "name": spec.name,
            "seconds": seconds,
            "configs": len(records),
            "config_epochs": sum(r["epochs_run"] for r in records),
            "populations": populations,
            "chunk": chunk,
            "backend": jax.default_backend(),
            "wandb": wandb_mode if tracker.error is None else f"off after: {tracker.error}",
        },
    )
    return SweepOutcome(directory, rank(records, spec.metric, spec.goal), seconds)
