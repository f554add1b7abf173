"""The sweep driver: for each planned population, run epochs until every config has finished.

The host sees only [K]-sized metrics between jitted calls; everything per-step stays on
device. Results are plain dicts (one per trial) that `results.py` writes and ranks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from jaxtune.data.dataset import TextDataset, epoch_batches, sequential_batches
from jaxtune.models import build_classifier
from jaxtune.plan import PopulationPlan
from jaxtune.population import Trainer, hparam_arrays, to_device, trial_keys
from jaxtune.schedulers import EarlyStopping, Status
from jaxtune.space import static_signature
from jaxtune.train import Program

METRICS = ("loss", "accuracy", "macro_f1")


@dataclasses.dataclass
class EpochReport:
    """What the progress display learns after each epoch of a population."""

    population: int
    epoch: int
    max_epochs: int
    active: int
    width: int
    best_value: float | None  # best value of the sweep metric inside this population so far


def program_for(config: dict[str, Any], dataset: TextDataset) -> Program:
    model = build_classifier(config, dataset.vocab_size, dataset.num_classes)
    return Program(model=model, optimizer=config["optimizer"], nesterov=config["nesterov"])


class Engine:
    """Trains planned populations on one dataset; keeps one Trainer per static signature."""

    def __init__(
        self,
        dataset: TextDataset,
        *,
        seed: int,
        early_stopping: EarlyStopping,
        eval_batch_size: int = 256,
        metric: str = "val_accuracy",
        goal: str = "maximize",
        max_loss: float | None = 100.0,
        chunk: int | None = None,
    ):
        self.dataset = dataset
        self.seed = seed
        self.early_stopping = early_stopping
        self.metric = metric
        self.goal = goal
        self.max_loss = max_loss
        self.chunk = chunk
        self.train_split = to_device(dataset.train)
        self.val_split = to_device(dataset.val)
        self.val_batches = sequential_batches(len(dataset.val), eval_batch_size)
        self._trainers: dict[tuple, Trainer] = {}

    def trainer(self, config: dict[str, Any]) -> Trainer:
        signature = static_signature(config)
        if signature not in self._trainers:
            program = program_for(config, self.dataset)
            self._trainers[signature] = Trainer(
                program, self.early_stopping, max_loss=self.max_loss, chunk=self.chunk
            )
        return self._trainers[signature]

    def run(
        self,
        plan: PopulationPlan,
        population_index: int = 0,
        on_epoch: Callable[[EpochReport], None] | None = None,
    ) -> list[dict[str, Any]]:
        """Train one population to the end; one result record per trial."""
        configs = [t.config for t in plan.trials]
        trainer = self.trainer(configs[0])
        batch_size = configs[0]["batch_size"]
        state = trainer.init(
            hparam_arrays(configs), trial_keys(self.seed, [t.trial_id for t in plan.trials])
        )
        histories: list[list[dict]] = [[] for _ in configs]
        max_epochs = max(c["epochs"] for c in configs)
        for epoch in range(max_epochs):
            was_active = np.asarray(state.active)
            if not was_active.any():
                break
            index, weights = epoch_batches(len(self.dataset.train), batch_size, self.seed, epoch)
            state, train_metrics = trainer.train_epoch(state, self.train_split, index, weights)
            val = trainer.evaluate(state.params, self.val_split, *self.val_batches)
            state = trainer.end_epoch(state, val, *trainer.stopping_args())
            train_metrics, val = jax.device_get((train_metrics, {k: val[k] for k in METRICS}))
            for k in np.flatnonzero(was_active):
                count = max(float(train_metrics["count"][k]), 1.0)
                histories[k].append(
                    {
                        "epoch": epoch + 1,
                        "train_loss": float(train_metrics["loss_sum"][k]) / count,
                        "train_accuracy": float(train_metrics["correct"][k]) / count,
                        **{f"val_{m}": float(val[m][k]) for m in METRICS},
                    }
                )
            if on_epoch is not None:
                on_epoch(
                    EpochReport(
                        population=population_index,
                        epoch=epoch + 1,
                        max_epochs=max_epochs,
                        active=int(np.asarray(state.active).sum()),
                        width=len(configs),
                        best_value=self._best_value(histories),
                    )
                )
        final = jax.device_get(
            {
                "status": state.status,
                "best_epoch": state.best_epoch,
                "failed_step": state.failed_step,
                "epoch": state.epoch,
            }
        )
        return [
            self._record(plan, k, histories[k], {name: int(v[k]) for name, v in final.items()})
            for k in range(len(configs))
        ]

    def _best_value(self, histories) -> float | None:
        values = [
            h[self.metric] for history in histories for h in history if np.isfinite(h[self.metric])
        ]
        if not values:
            return None
        return max(values) if self.goal == "maximize" else min(values)

    def _record(self, plan: PopulationPlan, k: int, history: list[dict], final: dict):
        trial = plan.trials[k]
        status = Status(final["status"])
        best_epoch = final["best_epoch"]
        best = next((dict(h) for h in history if h["epoch"] == best_epoch), None)
        return {
            "trial_id": trial.trial_id,
            "group": plan.group,
            "status": status.name.lower(),
            "status_reason": self._reason(status, final, best_epoch),
            "hparams": {
                name: list(v) if isinstance(v, tuple) else v for name, v in trial.config.items()
            },
            "epochs_run": len(history),
            "best_epoch": best_epoch or None,
            "best": best,
            "failed_step": final["failed_step"] if final["failed_step"] >= 0 else None,
            "history": history,
        }

    def _reason(self, status: Status, final: dict, best_epoch: int) -> str:
        monitor = self.early_stopping.monitor
        if status == Status.COMPLETED:
            return f"ran {final['epoch']} epochs; best {monitor} at epoch {best_epoch}"
        if status == Status.STOPPED:
            restored = f"; restored epoch {best_epoch}" if self.early_stopping.restore_best else ""
            return (
                f"early stopping after epoch {final['epoch']}: no {monitor} improvement "
                f"for {self.early_stopping.patience} epochs{restored}"
            )
        if status == Status.FAILED:
            if final["failed_step"] >= 0:
                bound = "" if self.max_loss is None else f" or above max_loss {self.max_loss:g}"
                return (
                    f"diverged at step {final['failed_step']} (epoch {final['epoch'] + 1}): "
                    f"loss or parameters non-finite{bound}; frozen at its last good state"
                )
            return f"diverged: non-finite validation loss at epoch {final['epoch']}"
        return status.name.lower()
