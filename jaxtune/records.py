"""A trained config's result record: what results.jsonl holds, one line per trial.

`TrialRecord` types the record every reader (results, study, tracking, report, refine,
final, the searches) receives; the file format is the JSON of it, unchanged.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any, NotRequired, TypedDict

from jaxtune.population.status import EarlyStopping, Status
from jaxtune.schedulers.base import Verdict

if TYPE_CHECKING:  # the plan imports the memory model (jax); a record reader needs neither
    from jaxtune.plan import PopulationPlan
    from jaxtune.search.samplers import Trial


class TrialRecord(TypedDict):
    trial_id: int
    group: int  # the static group (plan.py) its population belongs to
    studies: list[str]  # one-at-a-time: the studies (hyperparameters) it belongs to
    name: str | None  # named configs: its name
    status: str  # Status name, lower case: completed, stopped, failed, pruned
    status_reason: str  # one sentence a reader understands
    hparams: dict[str, Any]  # the complete config (tuples as lists)
    epochs_run: int  # evaluations it ran
    best_epoch: int | None  # the evaluation of its best monitored value
    best: dict[str, Any] | None  # the history entry of that evaluation
    failed_step: int | None  # the step at which it diverged
    history: list[dict[str, Any]]  # one entry per evaluation (epoch, step, metrics, rate)
    # the evaluations its budget holds (epochs_run is fewer when it stopped or was pruned);
    # absent from records of sweeps made before it was recorded
    evaluations_planned: NotRequired[int]
    params: NotRequired[dict[str, Any]]  # {"checkpoint", "slot"} of its best params
    # the data epoch its training began at, when not 0: it took the slot of a config that
    # ended (plan.streamed); trained alone from that epoch (Engine.run), it gives this curve
    data_epoch: NotRequired[int]
    # PBT (schedulers/pbt.py): each perturbation, in order: the evaluation after which it
    # came, the trial whose training state it copied, the hyperparameters' new values
    lineage: NotRequired[list[dict[str, Any]]]


@dataclasses.dataclass(frozen=True)
class Outcome:
    """How a config's training ended, read from its lifecycle state."""

    status: Status
    best_epoch: int  # 0: no evaluation improved
    failed_step: int  # -1: never diverged
    epoch: int  # evaluations done while active
    timed_out: bool  # stopped by budget.time_limit
    verdict: Verdict | None = None  # PRUNED by a scheduler: where, and why
    planned: int | None = None  # the evaluations its budget holds
    data_epoch: int = 0  # the data epoch of its first epoch (later: it took a freed slot)
    build_error: str | None = None  # FAILED before training: why its model cannot be built


@dataclasses.dataclass(frozen=True)
class Recorder:
    """Builds records; knows the sweep's settings that a status reason names."""

    early_stopping: EarlyStopping
    eval_every: int | None  # steps between evaluations; None: every epoch
    max_loss: float | None
    metric: str = "val_accuracy"  # the sweep metric, which the schedulers compare

    def record(
        self, plan: PopulationPlan, trial: Trial, history: list[dict], outcome: Outcome
    ) -> TrialRecord:
        best = next((dict(h) for h in history if h["epoch"] == outcome.best_epoch), None)
        record = TrialRecord(
            trial_id=trial.trial_id,
            group=plan.group,
            studies=list(trial.studies),
            name=trial.name,
            status=outcome.status.name.lower(),
            status_reason=self.reason(outcome),
            hparams={
                name: list(v) if isinstance(v, tuple) else v for name, v in trial.config.items()
            },
            epochs_run=len(history),
            best_epoch=outcome.best_epoch or None,
            best=best,
            failed_step=outcome.failed_step if outcome.failed_step >= 0 else None,
            history=history,
        )
        if outcome.planned is not None:
            record["evaluations_planned"] = outcome.planned
        if outcome.data_epoch:
            record["data_epoch"] = outcome.data_epoch
        return record

    def reason(self, outcome: Outcome) -> str:
        monitor = self.early_stopping.monitor
        status, best_epoch, epoch = outcome.status, outcome.best_epoch, outcome.epoch
        if status == Status.COMPLETED:
            if self.eval_every is not None:
                return (
                    f"ran {epoch} evaluations of {self.eval_every} steps; "
                    f"best {monitor} at evaluation {best_epoch}"
                )
            return f"ran {epoch} epochs; best {monitor} at epoch {best_epoch}"
        if status == Status.STOPPED and outcome.timed_out:
            restored = (
                f"; restored evaluation {best_epoch}" if self.early_stopping.restore_best else ""
            )
            return f"stopped by budget.time_limit after evaluation {epoch}{restored}"
        if status == Status.STOPPED:
            unit = "epoch" if self.eval_every is None else "evaluation"
            restored = f"; restored {unit} {best_epoch}" if self.early_stopping.restore_best else ""
            return (
                f"early stopping after {unit} {epoch}: no {monitor} improvement "
                f"for {self.early_stopping.patience} {unit}s{restored}"
            )
        if status == Status.FAILED:
            if outcome.build_error is not None:
                return f"failed to build: {outcome.build_error}; not trained"
            if outcome.failed_step >= 0:
                bound = "" if self.max_loss is None else f" or above max_loss {self.max_loss:g}"
                return (
                    f"diverged at step {outcome.failed_step} (epoch {epoch + 1}): "
                    f"loss or parameters non-finite{bound}; frozen at its last good state"
                )
            return f"diverged: non-finite validation loss at epoch {epoch}"
        if status == Status.PRUNED and outcome.verdict is not None:
            return self._pruned(outcome)
        return status.name.lower()

    def _pruned(self, outcome: Outcome) -> str:
        verdict, best_epoch = outcome.verdict, outcome.best_epoch
        unit = "epoch" if self.eval_every is None else "evaluation"
        restored = f"; restored {unit} {best_epoch}" if self.early_stopping.restore_best else ""
        if verdict.rule == "early_terminate":
            return (
                f"pruned by early_terminate after {unit} {outcome.epoch}: {self.metric} "
                f"{verdict.value:.4g} worse than band {verdict.band}'s threshold "
                f"{verdict.threshold:.4g}{restored}"
            )
        where = f"pruned by {verdict.rule} at rung {verdict.rung} ({unit} {verdict.band})"
        if math.isnan(verdict.value):
            return f"{where}: {self.metric} is NaN{restored}"
        if math.isnan(verdict.threshold):  # bootstrap_count
            return (
                f"{where}: only {verdict.competing} configs had reached the rung, not more "
                f"than bootstrap_count{restored}"
            )
        return (
            f"{where}: {self.metric} {verdict.value:.4g} worse than {verdict.threshold:.4g}, "
            f"the cutoff for promotion among the {verdict.competing} configs that reached "
            f"the rung{restored}"
        )
