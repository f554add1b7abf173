"""Run a whole sweep from a spec: data, trials, plan, populations, results on disk."""

from __future__ import annotations

import dataclasses
import shutil
import time
from pathlib import Path
from typing import Protocol

import jax
import yaml

from jaxtune.compile_cache import CacheUse
from jaxtune.data.dataset import TextDataset
from jaxtune.data.examples import DataError
from jaxtune.data.sources import DataReport, load_dataset
from jaxtune.directory import (
    RunOptions,
    claim_directory,
    prepare_directory,
    read_run_options,
    write_run_options,
)
from jaxtune.engine import BLOCK_STEPS, Engine, EpochReport
from jaxtune.layout import (
    GREEDY_FILE,
    RESULTS_FILE,
    SNAPSHOTS_DIR,
    SWEEP_FILE,
)
from jaxtune.merge import MergePolicy, merge_policy
from jaxtune.models.user import module_root
from jaxtune.plan import PopulationPlan, default_memory_budget, plan_populations, streamed
from jaxtune.progress import ProgressLog
from jaxtune.records import TrialRecord
from jaxtune.results import rank, read_results, write_json, write_results
from jaxtune.schedulers.early_terminate import population_pruner
from jaxtune.schedulers.halving import halving_pruner
from jaxtune.schedulers.pbt import PopulationBasedTraining
from jaxtune.search.base import Round, extended, run_rounds
from jaxtune.search.bayes import BayesSearch, optuna_distributions
from jaxtune.search.fixed import FixedSearch
from jaxtune.search.greedy import GreedyRounds, GreedySearch
from jaxtune.search.greedy import max_configs as greedy_max_configs
from jaxtune.search.samplers import sample
from jaxtune.search.shared import SharedSearch, join_study, shared_storage
from jaxtune.sharding import local_devices
from jaxtune.snapshots import PopulationSnapshots
from jaxtune.spec import SpecError, SweepSpec
from jaxtune.spec.resolve import ResolvedSpec, resolve, write_facts
from jaxtune.study import open_study, record_replicated, record_trials
from jaxtune.tracking import WandbTracker


class Display(Protocol):
    def notice(self, message: str) -> None: ...
    def data(self, report: DataReport) -> None: ...
    def plan(
        self,
        spec: SweepSpec,
        plans: list[PopulationPlan],
        merged: int,
        merge: MergePolicy | None = None,
    ) -> None: ...
    def epoch(self, report: EpochReport) -> None: ...
    def population_done(self, index: int) -> None: ...


@dataclasses.dataclass
class SweepOutcome:
    directory: Path
    records: list[TrialRecord]  # ranked, best first
    seconds: float


def machine_devices(spec: SweepSpec) -> int:
    """How many devices a population may be split over: budget.devices checked against this
    machine (a check of running, not of parsing: a sweep made on a larger machine is read,
    reported and finalized anywhere)."""
    available = jax.local_device_count()
    requested = spec.budget.resolved_devices()
    if requested is not None and requested > available:
        raise SpecError(
            f"{spec.path}: budget.devices: expected auto or an integer in [1, {available}] "
            f"(this machine's {jax.default_backend()} devices), found {requested}"
        )
    return len(local_devices(requested))


def check_budget(spec: ResolvedSpec) -> None:
    """Refuse a sweep that would train more than budget.max_configs."""
    if spec.method == "greedy":
        cap, most = spec.budget.max_configs, greedy_max_configs(spec.parameters)
        if cap is not None and most > cap:
            raise SpecError(
                f"{spec.path}: budget.max_configs: the greedy search trains up to {most} "
                f"configs, above the cap of {cap}; raise the cap or sweep fewer values"
            )
    elif spec.method != "bayes":
        sample(spec)  # raises for a sample above the cap


def load_resolved(
    spec: SweepSpec, directory: Path, data_dir: str | Path | None
) -> tuple[TextDataset, DataReport, ResolvedSpec]:
    """The sweep's data, its report, and the spec with the data's facts applied."""
    dataset, report = load_dataset(spec.data, cache_dir=directory, data_dir=data_dir)
    return dataset, report, resolve(spec, report)


@dataclasses.dataclass(frozen=True)
class Worker:
    """One of many processes training a sweep shared through an RDB study (`jaxtune
    worker`, search/shared.py)."""

    study: str | None = None  # the study's name (default: the spec's name)
    batch: int = 8  # trials claimed at a time, trained as this worker's populations
    heartbeat_interval: int = 5  # seconds between a running trial's heartbeats
    grace_period: int = 30  # seconds without one before a trial is failed and re-queued


def run_sweep(spec: SweepSpec, directory: Path, display: Display, **options) -> SweepOutcome:
    """Run a sweep; with `resume`, continue the unfinished sweep in `directory`.

    The data is loaded and the spec resolved against it (`spec/resolve.py`) before anything
    samples, plans or extends. A resumed sweep skips every population whose results are
    on disk and restarts the one in training from its newest snapshot (`snapshots.py`),
    so its results equal an uninterrupted run's. The programs it loaded from the
    persistent compilation cache, and wrote there, go into sweep.json (compile_cache.py).
    """
    with CacheUse() as cache_use:
        return _run_sweep(spec, directory, display, cache_use, **options)


def _run_sweep(
    spec: SweepSpec,
    directory: Path,
    display: Display,
    cache_use: CacheUse,
    *,
    overwrite: bool = False,
    data_dir: str | Path | None = None,
    storage: str | None = None,
    wandb_mode: str = "offline",
    resume: bool = False,
    extensions: tuple[int, ...] = (),
    worker: Worker | None = None,
) -> SweepOutcome:
    start = time.perf_counter()
    for message in spec.notices:
        display.notice(message)
    device_count = machine_devices(spec)  # the most a population is split over
    created = not directory.exists()
    options = RunOptions(
        data_dir=None if data_dir is None else str(Path(data_dir).resolve()),
        storage=storage,
        wandb=wandb_mode,
        skip_bad_lines=spec.data.skip_bad_lines,
        extensions=list(extensions),
        merge=spec.budget.merge,
        code_path=sorted({module_root(p) for p in spec.user_architectures} - {None}),
        worker_study=None if worker is None else worker.study or spec.name,
    )
    if resume:
        earlier = read_run_options(directory, finished_ok=True)
        options = dataclasses.replace(options, seconds=earlier.seconds, merge=earlier.merge)
        write_run_options(directory, options)  # an extension survives a kill
        (directory / SWEEP_FILE).unlink(missing_ok=True)
        records = read_results(directory) if (directory / RESULTS_FILE).is_file() else []
    else:
        claim_directory(directory, overwrite)
        records = []
    try:
        dataset, report, base = load_resolved(spec, directory, data_dir)
        spec = extended(base, sum(extensions))  # from here on the spec is the resolved one
        check_budget(spec)  # a sample above budget.max_configs fails before any file changes
    except (DataError, SpecError):
        if created:  # a spec or data that fails leaves no half-made sweep directory behind
            shutil.rmtree(directory, ignore_errors=True)
        raise
    if not resume:
        prepare_directory(directory, spec, overwrite)
        write_run_options(directory, options)
    write_facts(directory, spec)
    display.data(report)
    backend = jax.default_backend()
    chunk = spec.budget.resolved_chunk(backend)
    max_memory_gb = spec.budget.max_memory_gb
    memory_budget = (
        default_memory_budget(local_devices(spec.budget.resolved_devices()))
        if max_memory_gb is None
        else int(max_memory_gb * 2**30)
    )

    merge = merge_policy(
        options.merge,
        chunk,
        embedding_update=spec.train.embedding_update,
        block_steps=BLOCK_STEPS,
    )

    # A sweep that prunes streams each program's trials through its slots (plan.streamed):
    # a pruned config's slot takes the next one. Its rounds are whole epochs, so a sweep
    # evaluated every train.eval_every steps, or budgeted in steps, plans as usual.
    halving = None if isinstance(spec.scheduler, PopulationBasedTraining) else spec.scheduler
    evolve = spec.scheduler if isinstance(spec.scheduler, PopulationBasedTraining) else None
    stream = (spec.early_terminate is not None or halving is not None) and (
        spec.train.eval_every is None and spec.train.max_steps is None
    )

    def plan_batch(trials):
        plans = plan_populations(
            trials,
            spec.budget.resolved_max_population(backend),
            shapes=spec.shapes,
            memory_budget=memory_budget,
            chunk=chunk,
            devices=device_count,
            embedding_update=spec.train.embedding_update,
            merge=merge,
        )
        return streamed(plans) if stream else plans

    engine = Engine(
        dataset,
        seed=spec.seed,
        early_stopping=spec.train.early_stopping,
        eval_batch_size=spec.train.eval_batch_size,
        metric=spec.metric,
        goal=spec.goal,
        max_loss=spec.train.max_loss,
        chunk=chunk,
        devices=spec.budget.resolved_devices(),
        buckets=spec.bucket_lengths,
        embedding=report.embedding,
        class_weights=spec.class_weights,
        params_dir=directory,
        eval_every=spec.train.eval_every,
        max_steps=spec.train.max_steps,
        embedding_update=spec.train.embedding_update,
        unroll=spec.budget.unroll,
    )
    distributions = optuna_distributions(spec)
    if worker is None:
        study = open_study(directory, spec.name, spec.goal, storage, fresh=overwrite and not resume)
    else:  # one of many workers of a study in a shared database (search/shared.py)
        shared = shared_storage(storage, worker.heartbeat_interval, worker.grace_period)
        document = yaml.safe_load(Path(spec.path).read_text(encoding="utf-8"))
        study = join_study(shared, worker.study or spec.name, spec, document, distributions)
    tracker = WandbTracker(wandb_mode, directory, spec.name)
    done = {record["trial_id"] for record in records}
    populations = 0
    deadline = None  # budget.time_limit: wall time of this run (a resume has its own)
    if spec.budget.time_limit is not None:
        deadline = time.monotonic() - (time.perf_counter() - start) + spec.budget.time_limit

    def out_of_time() -> bool:
        return deadline is not None and time.monotonic() > deadline

    progress = ProgressLog(directory)

    # W&B's early_terminate or Optuna's successive halving / hyperband, over this
    # population and every earlier config
    # (a worker's: with every other worker's records in the shared study)
    def earlier() -> list[TrialRecord]:
        return records + search.others() if worker is not None else records

    prune = None
    if spec.early_terminate is not None:
        prune = population_pruner(
            spec.early_terminate, spec.metric, spec.goal == "maximize", earlier
        )
    elif halving is not None:
        maximize = spec.goal == "maximize"
        prune = halving_pruner(halving, spec.metric, maximize, earlier)

    def on_epoch(report: EpochReport) -> None:
        display.epoch(report)
        progress.write(report)
        tracker.log_evaluations(report.evaluated)  # live: each config's run, as it trains

    def train(plans, observe):
        """Train each population not yet on disk; population numbers count every plan."""
        nonlocal populations
        for population in plans:
            index = populations
            populations += 1
            if all(trial.trial_id in done for trial in population.all_trials):
                continue
            if population.queued:  # a resumed stream starts only the trials it has not run
                population = population.without(done)
            if out_of_time():  # budget.time_limit: no population starts after it
                return
            failures = engine.build_failures(population)
            if failures:  # a config whose model cannot be built fails alone
                records.extend(failures)
                done.update(record["trial_id"] for record in failures)
                write_results(directory, records)
                tracker.log_records(failures)
                observe(failures)
                display.population_done(index)
                continue
            snapshots = None
            if spec.train.checkpoint_every is not None:
                snapshots = PopulationSnapshots(directory, index, spec.train.checkpoint_every)
                if snapshots.latest_epoch() is not None:
                    display.notice(
                        f"population {index}: resuming from its snapshot after epoch "
                        f"{snapshots.latest_epoch()}"
                    )
            # method bayes: a streaming population's freed slots ask the sampler
            supply = search.supply(index) if stream and isinstance(search, BayesSearch) else None
            try:
                finished = engine.run(
                    population,
                    index,
                    on_epoch=on_epoch,
                    snapshots=snapshots,
                    deadline=deadline,
                    prune=prune,
                    evolve=evolve,
                    supply=supply,
                )
            finally:
                if snapshots is not None:
                    snapshots.close()
            records.extend(finished)
            done.update(record["trial_id"] for record in finished)
            write_results(directory, records)  # after every population: a crash loses one
            write_run_options(
                directory,
                dataclasses.replace(options, seconds=options.seconds + time.perf_counter() - start),
            )
            if snapshots is not None:  # its results are on disk: the snapshots are spent
                snapshots.delete()
            tracker.log_records(finished)
            observe(finished)
            display.population_done(index)

    def record(finished):
        if spec.repeats > 1:  # one trial per config, once its replicates are all in
            record_replicated(study, records, spec.metric, distributions, spec.repeats)
        else:
            record_trials(study, finished, spec.metric, distributions)

    def on_iteration(greedy, entry):
        write_results(directory, records)  # reused configs joined this iteration's study
        write_json(directory / GREEDY_FILE, greedy.path)
        verdict = "adopted" if entry["adopted"] else "kept"
        score = "none finite" if entry["score"] is None else f"{entry['score']:.4f}"
        display.notice(
            f"greedy iteration {entry['iteration']}/{len(greedy.parameters)}: "
            f"{verdict} {entry['hparam']}={entry['value']!r}; {spec.metric} {score}"
        )

    if worker is not None:
        search = SharedSearch(spec, study, shared, directory, distributions, batch=worker.batch)
    elif spec.method == "bayes":
        search = BayesSearch(spec, study, distributions, records)
    elif spec.method == "greedy":
        search = GreedyRounds(
            GreedySearch.of(spec), records, record, on_iteration, repeats=spec.repeats
        )
    else:
        search = FixedSearch(base, extensions, record)
        if resume:  # results on disk that a kill kept from reaching the study
            record(records)
    planned = False

    def train_round(round_: Round) -> None:
        nonlocal planned
        plans = [plan for batch in round_.batches for plan in plan_batch(batch)]
        if not planned:
            display.plan(spec, plans, search.merged, merge)
            planned = True
        if round_.notice:
            display.notice(round_.notice)
        train(plans, search.observe)

    run_rounds(search, train_round, out_of_time)
    if tracker.error is not None:
        display.notice(f"W&B tracking was turned off after an error: {tracker.error}")
    if cache_use.loaded:
        display.notice(
            f"compile cache: {cache_use.loaded} program(s) loaded from "
            f"{cache_use.summary()['directory']} instead of compiled "
            f"({cache_use.seconds_saved:.0f} s of compiling saved)"
        )
    if out_of_time():
        display.notice(
            f"budget.time_limit ({spec.budget.time_limit:g} s) reached: configs in training "
            f"were stopped at their last evaluation; {len(records)} configs recorded"
        )
    seconds = options.seconds + time.perf_counter() - start
    shutil.rmtree(directory / SNAPSHOTS_DIR, ignore_errors=True)
    write_json(
        directory / SWEEP_FILE,
        {
            "name": spec.name,
            "seconds": seconds,
            "configs": len(records),
            "config_epochs": sum(r["epochs_run"] for r in records),
            # what training every config it tried to its budget would have evaluated
            "config_epochs_planned": sum(
                r.get("evaluations_planned", r["epochs_run"]) for r in records
            ),
            "populations": populations,
            "time_limit_reached": out_of_time(),
            "chunk": chunk,
            "unroll": spec.budget.unroll,
            "devices": device_count,
            "backend": backend,
            "wandb": wandb_mode if tracker.error is None else f"off after: {tracker.error}",
            "compile_cache": cache_use.summary(),
        },
    )
    return SweepOutcome(directory, rank(records, spec.metric, spec.goal), seconds)
