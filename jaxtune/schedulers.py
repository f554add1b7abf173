"""Per-config lifecycle after each evaluation: best-so-far, early stopping, completion, failure.

Written for one config and vmapped by `population.py`, so every config of a population
stops, completes or fails on its own schedule while sharing one program.
"""

from __future__ import annotations

import dataclasses
import enum

import jax
import jax.numpy as jnp

from jaxtune.schedules import schedule_code


class Status(enum.IntEnum):
    RUNNING = 0
    COMPLETED = 1  # ran its `epochs`
    STOPPED = 2  # early stopping: no improvement for `patience` evaluations
    PRUNED = 3
    FAILED = 4  # non-finite loss or parameters; frozen at its last finite state


MONITORS = {"val_loss": "min", "val_accuracy": "max", "val_macro_f1": "max"}


@dataclasses.dataclass(frozen=True)
class EarlyStopping:
    """Static settings; `patience` and `min_delta` are passed as traced values.

    monitor: which validation metric decides "best" (also when patience is None).
    patience: evaluations without improvement before stopping; None disables stopping.
    restore_best: a finished config's params become those of its best evaluation.
    """

    monitor: str = "val_loss"
    patience: int | None = None
    min_delta: float = 0.0
    restore_best: bool = True

    @property
    def mode(self) -> str:
        return MONITORS[self.monitor]


def end_of_epoch(state, val_metrics, patience, min_delta, *, monitor: str, restore_best: bool):
    """Update one config's state after an evaluation.

    Args:
      state: the config's TrainState (see train.py).
      val_metrics: dict of scalars with "loss", "accuracy", "macro_f1".
      patience: scalar, inf disables early stopping. min_delta: scalar.

    Returns:
      the new state. Only configs active at the call change.
    """
    active = state.active
    epoch = state.epoch + active.astype(jnp.int32)
    value = val_metrics[monitor.removeprefix("val_")]
    score = value if MONITORS[monitor] == "max" else -value  # larger is better
    finite = jnp.isfinite(val_metrics["loss"])
    improved = active & finite & (score - min_delta > state.best_score)
    best_params = jax.tree.map(
        lambda new, old: jnp.where(improved, new, old), state.params, state.best_params
    )
    bad_epochs = jnp.where(improved, 0, state.bad_epochs + active.astype(jnp.int32))
    failed = active & ~finite
    stopped = active & finite & ~improved & (bad_epochs >= patience)
    # Its step budget (epochs * steps per epoch, or train.max_steps) is spent.
    completed = active & finite & ~stopped & (state.step >= state.hparams["total_steps"])
    finished = stopped | completed
    status = jnp.select(
        [failed, stopped, completed],
        [Status.FAILED, Status.STOPPED, Status.COMPLETED],
        state.status,
    )
    # Reduce-on-plateau (configs whose lr_schedule is "plateau"): after plateau_patience
    # evaluations without improvement the rate is multiplied by plateau_factor.
    on_plateau = state.hparams["lr_schedule"] == schedule_code("plateau")
    plateau_epochs = jnp.where(improved, 0, state.plateau_epochs + active.astype(jnp.int32))
    cut = active & on_plateau & (plateau_epochs >= state.hparams["plateau_patience"])
    lr_scale = jnp.where(cut, state.lr_scale * state.hparams["plateau_factor"], state.lr_scale)
    plateau_epochs = jnp.where(cut, 0, plateau_epochs)
    params = state.params
    if restore_best:
        params = jax.tree.map(lambda best, now: jnp.where(finished, best, now), best_params, params)
    return state.replace(
        params=params,
        best_params=best_params,
        best_score=jnp.where(improved, score, state.best_score),
        best_epoch=jnp.where(improved, epoch, state.best_epoch),
        bad_epochs=bad_epochs,
        plateau_epochs=plateau_epochs,
        lr_scale=lr_scale,
        epoch=epoch,
        status=status.astype(jnp.int32),
        active=active & ~failed & ~finished,
    )


def stop_now(state, *, restore_best: bool):
    """End an active config where it stands (the sweep's time limit): STOPPED, its params
    those of its best evaluation when `restore_best`. Inactive configs are unchanged."""
    active = state.active
    params = state.params
    if restore_best:
        params = jax.tree.map(
            lambda best, now: jnp.where(active, best, now), state.best_params, params
        )
    status = jnp.where(active, jnp.int32(Status.STOPPED), state.status)
    return state.replace(params=params, status=status, active=jnp.zeros_like(active))
