"""One sweep shared by many workers through an Optuna RDB study (PostgreSQL): the trials
are enqueued once, each worker claims a batch of waiting ones at a time and trains them as
its populations, and a dead worker's trials go back to the queue by Optuna's heartbeat.

- The first worker to create the study (`create_study` is the database's unique study
  name: one wins, the others load it) enqueues every trial of the spec as WAITING, each
  with its jaxtune trial id, and marks the study enqueued; the spec is kept with it, and a
  worker with another spec is refused.
- A worker claims a trial by moving it WAITING -> RUNNING with
  `storage.set_trial_state_values`, which the RDB storage does under a row lock and
  refuses for a trial that is no longer waiting: no two workers get one trial.
- While its trials train, a thread records their heartbeats (`storage.record_heartbeat`:
  Optuna beats only inside `study.optimize`). Before each claim a worker calls
  `optuna.storages.fail_stale_trials`: a trial whose worker stopped beating for the grace
  period becomes FAIL, and the storage's `RetryHeartbeatStaleTrialCallback` enqueues a
  copy (same jaxtune id) that the next claim takes.
- A trained trial is told with its value, its curve as intermediate values, and its
  whole record and the worker's directory as user attrs: `gather` builds one sweep
  directory of every worker's records for `jaxtune report` and `jaxtune final`.
- A worker exits when nothing is waiting and nothing is running.
"""

from __future__ import annotations

import json
import threading
import time
import warnings
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback, fail_stale_trials
from optuna.trial import TrialState

from jaxtune.search.base import Round
from jaxtune.search.bayes import ask as ask_trials
from jaxtune.search.bayes import trial_of
from jaxtune.search.samplers import Trial, sample
from jaxtune.spec import SpecError
from jaxtune.study import intermediate_values, outcome, trial_attrs, trial_params

# Optuna marks its heartbeat API experimental; it is what this module is built on.
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)

TRIAL_ATTR = "jaxtune_trial_id"
RECORD_ATTR = "jaxtune_record"  # the trial's whole result record (results.py), as JSON
DIRECTORY_ATTR = "jaxtune_directory"  # the worker's sweep directory (its params)
SPEC_ATTR = "jaxtune_spec"  # study attr: the spec's document, as JSON
ENQUEUED_ATTR = "jaxtune_enqueued"  # study attr: how many trials the creator enqueued
# Shared methods: those whose trials the spec fixes (named configs are grid), and bayes.
METHODS = ("grid", "random", "one_at_a_time", "bayes")


class WorkerError(SpecError):
    """A shared study a worker cannot join: one line saying why."""


def shared_storage(
    url: str, heartbeat_interval: int, grace_period: int, *, attempts: int = 5
) -> RDBStorage:
    """The study's RDB storage with Optuna's heartbeat and retry of stale trials.

    Workers started together on an empty database all create Optuna's tables, and all but
    one can fail on the database's catalog: each tries again after a pause."""
    import sqlalchemy.exc

    for attempt in range(attempts):
        try:
            return RDBStorage(
                url,
                heartbeat_interval=heartbeat_interval,
                grace_period=grace_period,
                heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(),
            )
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError):
            if attempt == attempts - 1:
                raise
            time.sleep(1.0 + attempt)
        except (sqlalchemy.exc.SQLAlchemyError, ImportError) as error:
            raise unreachable(url, error) from None
    raise AssertionError("unreachable")


def unreachable(url: str, error: BaseException) -> WorkerError:
    """The one line of a study database that cannot be opened."""
    first = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
    return WorkerError(f"--storage {url}: cannot open the study's database: {first}")


def join_study(
    storage: RDBStorage,
    name: str,
    spec,
    document: dict[str, Any],
    distributions,
    *,
    wait: float = 120.0,
) -> optuna.Study:
    """The shared study: created and filled by the first worker, loaded by the others
    (who wait up to `wait` seconds for it to be filled)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = optuna.create_study(storage=storage, study_name=name, direction=spec.goal)
    except optuna.exceptions.DuplicatedStudyError:
        study = optuna.load_study(storage=storage, study_name=name)
    else:
        study.set_user_attr(SPEC_ATTR, json.dumps(document, sort_keys=True))
        trials = [] if spec.method == "bayes" else sample(spec)[0]  # bayes asks as it goes
        waiting = []
        for trial in trials:
            params, dists = trial_params(trial.config, distributions)
            waiting.append(
                optuna.trial.create_trial(
                    state=TrialState.WAITING,
                    params=params,
                    distributions=dists,
                    user_attrs={TRIAL_ATTR: trial.trial_id},
                )
            )
        study.add_trials(waiting)
        study.set_user_attr(ENQUEUED_ATTR, len(waiting))
        return study
    deadline = time.monotonic() + wait
    while ENQUEUED_ATTR not in study.user_attrs:
        if time.monotonic() > deadline:
            raise WorkerError(
                f"study {name!r}: its trials were not enqueued within {wait:g} s (the worker "
                "that created it stopped?); delete the study and start again"
            )
        time.sleep(0.5)
    theirs = json.loads(study.user_attrs.get(SPEC_ATTR, "null"))
    if theirs != json.loads(json.dumps(document, sort_keys=True)):
        raise WorkerError(
            f"study {name!r} holds a sweep of another spec; give this one its own --study"
        )
    return study


class Heartbeat:
    """Records the heartbeat of every trial it holds, every `interval` seconds, on a thread
    of its own (training runs in XLA, which releases the GIL)."""

    def __init__(self, storage: RDBStorage, interval: float):
        self.storage, self.interval = storage, interval
        self.trial_ids: set[int] = set()
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, name="jaxtune-heartbeat", daemon=True)
        self.thread.start()

    def hold(self, trial_ids: Sequence[int]) -> None:
        with self.lock:
            self.trial_ids.update(trial_ids)

    def release(self, trial_ids: Sequence[int]) -> None:
        with self.lock:
            self.trial_ids.difference_update(trial_ids)

    def _beat(self) -> None:
        while not self.stopped.wait(self.interval):
            with self.lock:
                held = sorted(self.trial_ids)
            for trial_id in held:
                self.storage.record_heartbeat(trial_id)

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join()


class SharedSearch:
    """A worker's rounds: each a batch of trials claimed from the shared study."""

    merged = 0  # duplicates were merged when the creator sampled

    def __init__(
        self,
        spec,
        study: optuna.Study,
        storage: RDBStorage,
        directory: Path,
        distributions,
        *,
        batch: int,
        poll: float = 1.0,
    ):
        self.spec, self.distributions = spec, distributions
        trials, self.merged = ([], 0) if spec.method == "bayes" else sample(spec)
        self.trials = {trial.trial_id: trial for trial in trials}
        self.total = spec.run_cap or spec.budget.max_configs
        self.asks = 0  # rounds this worker asked (method bayes)
        self.study, self.storage = study, storage
        self.directory = str(Path(directory).resolve())
        self.metric = spec.metric
        self.batch, self.poll = batch, poll
        self.claimed: dict[int, int] = {}  # jaxtune trial id -> Optuna's trial id
        self.heartbeat = Heartbeat(storage, storage.heartbeat_interval)

    def claim(self) -> list[Trial]:
        """Up to `batch` waiting trials, each moved to RUNNING by this worker alone."""
        fail_stale_trials(self.study)  # a dead worker's trials go back to the queue
        mine = []
        for frozen in self.study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
            if len(mine) == self.batch:
                break
            try:
                taken = self.storage.set_trial_state_values(frozen._trial_id, TrialState.RUNNING)
            except optuna.exceptions.UpdateFinishedTrialError:
                taken = False  # another worker claimed and finished it since the listing
            if taken:
                mine.append(self.hold(frozen.user_attrs[TRIAL_ATTR], frozen))
        return sorted(mine, key=lambda t: t.trial_id)

    def hold(self, trial_id: int, frozen) -> Trial:
        """A trial this worker now trains: beating, and its jaxtune Trial."""
        self.storage.record_heartbeat(frozen._trial_id)
        self.heartbeat.hold([frozen._trial_id])
        self.claimed[trial_id] = frozen._trial_id
        if trial_id not in self.trials:  # bayes: asked by a worker, maybe another one
            self.trials[trial_id] = trial_of(self.spec, trial_id, frozen.params, self.distributions)
        return self.trials[trial_id]

    def ask(self) -> list[Trial]:
        """method bayes: up to `batch` new trials from the study's sampler, which has seen
        every trial any worker told (the run_cap is counted over the whole study: workers
        asking at the same moment can pass it by at most a batch each)."""
        asked = {t.user_attrs.get(TRIAL_ATTR) for t in self.study.get_trials(deepcopy=False)}
        fill = min(self.batch, self.total - len(asked - {None}))
        if fill <= 0:
            return []
        # Seeded by this worker's directory and round: two workers never draw alike.
        entropy = (zlib.crc32(self.directory.encode()), self.asks)
        self.asks += 1
        mine = []
        for trial, _ in ask_trials(
            self.study, self.spec, fill, self.distributions, entropy=entropy, attrs={}
        ):
            trial.set_user_attr(TRIAL_ATTR, trial.number)
            frozen = self.storage.get_trial(trial._trial_id)
            mine.append(self.hold(trial.number, frozen))
        return mine

    def propose(self) -> Round | None:
        while True:
            mine = self.claim()
            if not mine and self.spec.method == "bayes":
                mine = self.ask()
            if mine:
                return Round([mine], notice=f"claimed trials {[t.trial_id for t in mine]}")
            running = self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
            if not running:  # nothing waits, nothing trains: the sweep is done
                self.heartbeat.stop()
                return None
            time.sleep(self.poll)  # another worker's trials: wait, and retry if it dies

    def observe(self, records: Sequence[dict[str, Any]]) -> None:
        """Each trained trial told with its value, curve and record."""
        for record in records:
            trial_id = self.claimed.pop(record["trial_id"])
            for step, value in intermediate_values(record, self.metric).items():
                self.storage.set_trial_intermediate_value(trial_id, step, value)
            attrs = {
                **trial_attrs(record),
                RECORD_ATTR: json.dumps(record),
                DIRECTORY_ATTR: self.directory,
            }
            for key, value in attrs.items():
                self.storage.set_trial_user_attr(trial_id, key, value)
            state, value = outcome(record, self.metric)
            self.storage.set_trial_state_values(trial_id, state, None if value is None else [value])
            self.heartbeat.release([trial_id])

    def conclude(self) -> None:
        pass

    def others(self) -> list[dict[str, Any]]:
        """The records other workers have told the study (for pruning across workers)."""
        mine = self.directory
        return [
            json.loads(t.user_attrs[RECORD_ATTR])
            for t in self.study.get_trials(deepcopy=False)
            if RECORD_ATTR in t.user_attrs and t.user_attrs.get(DIRECTORY_ATTR) != mine
        ]


def gather(storage: str, study_name: str, directory: Path) -> list[dict[str, Any]]:
    """One sweep directory of every worker's records in the study: spec.yaml, results.jsonl
    (each record's params path made absolute: they stay in its worker's directory), and the
    first worker's resolved facts, vocabulary and run options (its --data-dir), so that
    `jaxtune report` and `jaxtune final` read it as any sweep directory. Returns the records."""
    import shutil

    import sqlalchemy.exc
    import yaml

    from jaxtune.layout import DATA_CACHE, RESOLVED_FILE, RUN_FILE, SPEC_FILE
    from jaxtune.results import write_json, write_results

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = optuna.load_study(study_name=study_name, storage=storage)
    except KeyError:
        raise WorkerError(f"--study: no study {study_name!r} in {storage}") from None
    except (sqlalchemy.exc.SQLAlchemyError, ImportError) as error:
        raise unreachable(storage, error) from None
    if SPEC_ATTR not in study.user_attrs:
        raise WorkerError(f"study {study_name!r} was not made by `jaxtune worker`")
    records, homes = [], []
    for trial in study.get_trials(deepcopy=False):
        if RECORD_ATTR not in trial.user_attrs:
            continue  # waiting, running, or failed with its worker (re-queued)
        record = json.loads(trial.user_attrs[RECORD_ATTR])
        home = Path(trial.user_attrs[DIRECTORY_ATTR])
        if record.get("params"):
            record["params"] = {
                **record["params"],
                "checkpoint": str(home / record["params"]["checkpoint"]),
            }
        records.append(record)
        homes.append(home)
    records.sort(key=lambda r: r["trial_id"])
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    document = json.loads(study.user_attrs[SPEC_ATTR])
    (directory / SPEC_FILE).write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    write_results(directory, records)
    for home in dict.fromkeys(homes):  # the first worker directory that still holds them
        if all((home / name).is_file() for name in (RESOLVED_FILE, RUN_FILE)):
            for name in (RESOLVED_FILE, *DATA_CACHE):
                if (home / name).is_file():
                    shutil.copyfile(home / name, directory / name)
            options = json.loads((home / RUN_FILE).read_text(encoding="utf-8"))
            write_json(directory / RUN_FILE, {**options, "storage": storage})
            break
    return records
