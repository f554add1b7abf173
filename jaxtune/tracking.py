"""Weights & Biases tracking: one W&B run per config, grouped by sweep, from this process.

Live: a config's run opens at its first evaluation and receives every evaluation as the
population trains (`log_evaluations`, one step per evaluation: train/val loss, accuracy,
macro-F1, learning rate), so a sweep killed mid-population leaves each run with what
was logged up to the kill. When the config's record is final (`log_records`) the run gets
its summary (the best epoch's metrics, status and reason) and finishes. A run's id is
fixed by the sweep directory and the trial id, and runs open with `resume="allow"`: a
resumed sweep continues the same runs. Offline by default, with W&B's files under the
sweep directory (`DIR/wandb`); `wandb sync DIR/wandb/offline-*` uploads them later. W&B
can never fail a sweep: the first error (an unreachable server, a bad login) is logged
once and tracking turns itself off.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from jaxtune.records import TrialRecord

MODES = ("offline", "online", "disabled")
INIT_TIMEOUT_SECONDS = 30.0
# How often W&B writes a run's data to its `.wandb` file: what a kill can lose at most
# (W&B's default, 15 s, lost whole populations' evaluations).
FLUSH_SECONDS = 0.2
IN_USE_SECONDS = 30.0  # how long a resumed run waits for a killed process's W&B service
log = logging.getLogger(__name__)


class WandbTracker:
    def __init__(self, mode: str, directory: Path, sweep: str, project: str = "jaxtune"):
        if mode not in MODES:
            raise ValueError(f"unknown W&B mode {mode!r}; allowed: {', '.join(MODES)}")
        self.mode = mode
        self.directory = Path(directory)
        self.sweep = sweep
        self.project = project
        self.error: str | None = None  # set once tracking failed and turned itself off
        self.runs: dict[int, Any] = {}  # trial id -> its open run (evaluations logged live)
        self.logged: dict[int, int] = {}  # trial id -> the last epoch its run received

    @property
    def active(self) -> bool:
        return self.mode != "disabled" and self.error is None

    def run_id(self, trial_id: int) -> str:
        """The W&B id of a trial's run: the same for every process of this sweep directory."""
        digest = hashlib.sha1(str(self.directory.resolve()).encode()).hexdigest()[:10]
        return f"{digest}-{trial_id}"

    def log_evaluations(self, evaluated) -> None:
        """Each (Trial, history) of an evaluation: what its run has not received from this
        process (the new entry; after a resume, the whole history: W&B keeps a resumed
        run's steps past those it has); never raises."""
        self._guarded(lambda wandb: [self._log_entry(wandb, t, e) for t, h in evaluated for e in h])

    def log_records(self, records: Iterable[TrialRecord]) -> None:
        """Each finished config's run: what it has not received yet, its summary, finished;
        never raises."""
        self._guarded(lambda wandb: [self._finish(wandb, record) for record in records])

    def _guarded(self, work) -> None:
        if not self.active:
            return
        os.environ.setdefault("WANDB_SILENT", "true")
        try:
            import wandb

            work(wandb)
        except Exception as error:  # noqa: BLE001 - tracking must never fail a sweep
            self.error = f"{type(error).__name__}: {error}".splitlines()[0]
            log.warning("W&B tracking turned off after an error: %s", self.error)

    def _open(self, wandb, trial_id: int, name: str | None, hparams) -> Any:
        if trial_id not in self.runs:
            self.runs[trial_id] = self._init(wandb, trial_id, name, hparams)
        return self.runs[trial_id]

    def _init(self, wandb, trial_id: int, name: str | None, hparams) -> Any:
        """The trial's run. A process killed moments ago leaves its W&B service holding
        the run's id until that service notices and exits: a resumed sweep waits for it
        (up to IN_USE_SECONDS), then tries again."""
        deadline = time.monotonic() + IN_USE_SECONDS
        while True:
            try:
                return self._init_once(wandb, trial_id, name, hparams)
            except Exception as error:  # noqa: BLE001 - W&B raises its own error types
                if "in use" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(1.0)

    def _init_once(self, wandb, trial_id: int, name: str | None, hparams) -> Any:
        return wandb.init(
            project=self.project,
            group=self.sweep,
            job_type="sweep-config",
            name=f"{self.sweep}/{name or f'trial-{trial_id}'}",
            id=self.run_id(trial_id),
            resume="allow",
            config={**hparams, "trial_id": trial_id},
            mode=self.mode,
            dir=str(self.directory),
            reinit="create_new",
            settings=wandb.Settings(
                init_timeout=INIT_TIMEOUT_SECONDS,
                x_transaction_log_flush_interval=FLUSH_SECONDS,
            ),
        )

    def _log_entry(self, wandb, trial, entry) -> None:
        run = self._open(wandb, trial.trial_id, trial.name, trial.config)
        if entry["epoch"] > self.logged.get(trial.trial_id, 0):
            run.log(
                {k: v for k, v in entry.items() if _loggable(v) and k != "epoch"},
                step=entry["epoch"],
                commit=True,  # with a step, W&B holds a row until the next step
            )
            self.logged[trial.trial_id] = entry["epoch"]

    def _finish(self, wandb, record: TrialRecord) -> None:
        trial_id = record["trial_id"]
        run = self._open(wandb, trial_id, record.get("name"), record["hparams"])
        try:
            for entry in record["history"]:  # what it did not receive live (a resumed sweep's)
                if entry["epoch"] > self.logged.get(trial_id, 0):
                    run.log(
                        {k: v for k, v in entry.items() if _loggable(v) and k != "epoch"},
                        step=entry["epoch"],
                        commit=True,
                    )
                    self.logged[trial_id] = entry["epoch"]
            best = record.get("best") or {}
            run.summary.update(
                {
                    **{f"best/{k}": v for k, v in best.items() if _loggable(v)},
                    "status": record["status"],
                    "status_reason": record["status_reason"],
                    "best_epoch": record["best_epoch"],
                    "epochs_run": record["epochs_run"],
                }
            )
        finally:
            self.runs.pop(trial_id, None)
            run.finish(exit_code=0 if record["status"] != "failed" else 1)


def _loggable(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
