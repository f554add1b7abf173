"""Weights & Biases tracking: one W&B run per config, grouped by sweep, from this process.

Each finished population's configs become runs (`reinit="create_new"`): config = the
trial's hyperparameters, one logged step per epoch (train/val loss, accuracy, macro-F1,
learning rate), summary = the best epoch's metrics, status and reason. Offline by default,
with W&B's files under the sweep directory (`DIR/wandb`); `wandb sync DIR/wandb/offline-*`
uploads them later. W&B can never fail a sweep: the first error (an unreachable server, a
bad login) is logged once and tracking turns itself off.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from jaxtune.records import TrialRecord

MODES = ("offline", "online", "disabled")
INIT_TIMEOUT_SECONDS = 30.0
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

    @property
    def active(self) -> bool:
        return self.mode != "disabled" and self.error is None

    def log_records(self, records: Iterable[TrialRecord]) -> None:
        """One W&B run per finished config; never raises."""
        if not self.active:
            return
        os.environ.setdefault("WANDB_SILENT", "true")
        try:
            import wandb

            for record in records:
                self._log_one(wandb, record)
        except Exception as error:  # noqa: BLE001 - tracking must never fail a sweep
            self.error = f"{type(error).__name__}: {error}".splitlines()[0]
            log.warning("W&B tracking turned off after an error: %s", self.error)

    def _log_one(self, wandb, record: TrialRecord) -> None:
        name = record.get("name") or f"trial-{record['trial_id']}"
        run = wandb.init(
            project=self.project,
            group=self.sweep,
            job_type="sweep-config",
            name=f"{self.sweep}/{name}",
            config={**record["hparams"], "trial_id": record["trial_id"]},
            mode=self.mode,
            dir=str(self.directory),
            reinit="create_new",
            settings=wandb.Settings(init_timeout=INIT_TIMEOUT_SECONDS),
        )
        try:
            for entry in record["history"]:
                run.log(
                    {k: v for k, v in entry.items() if _loggable(v) and k != "epoch"},
                    step=entry["epoch"],
                )
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
            run.finish(exit_code=0 if record["status"] != "failed" else 1)


def _loggable(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
