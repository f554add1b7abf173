"""Per-config lifecycle after each evaluation: best-so-far, early stopping, plateau,
completion, failure; and the stops a time limit or a scheduler forces.

Written for one config and vmapped by `factory.py`, so every config of a population
stops, completes or fails on its own schedule while sharing one program.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxtune.population.state import ConfigState
from jaxtune.population.status import MONITORS, EarlyStopping, Status
from jaxtune.schedules import learning_rate, schedule_code


def stopping_args(early_stopping: EarlyStopping):
    """(patience, min_delta) as traced scalars: changing them never recompiles."""
    patience = early_stopping.patience
    return (
        jnp.float32(np.inf if patience is None else patience),
        jnp.float32(early_stopping.min_delta),
    )


def after_evaluation(
    state: ConfigState,
    val_metrics,
    patience,
    min_delta,
    due=None,
    *,
    monitor: str,
    restore_best: bool,
):
    """Update one config's state after an evaluation.

    Args:
      state: the config's ConfigState (state.py).
      val_metrics: dict of scalars: "loss" and the task's other metrics (tasks.py).
      patience: scalar, inf disables early stopping. min_delta: scalar.
      due: bool scalar, or None (True): whether this evaluation is one of the config's
        own (rounds.Track); one that is not changes nothing.

    Returns:
      (the new state, the learning rate its next step uses). Only configs active at the
      call, and due, change.
    """
    train, life = state.train, state.life
    active = life.active if due is None else life.active & due
    epoch = life.epoch + active.astype(jnp.int32)
    value = val_metrics[monitor.removeprefix("val_")]
    score = value if MONITORS[monitor] == "max" else -value  # larger is better
    finite = jnp.isfinite(val_metrics["loss"])
    improved = active & finite & (score - min_delta > life.best_score)
    best_params = jax.tree.map(
        lambda new, old: jnp.where(improved, new, old), train.params, life.best_params
    )
    bad_epochs = jnp.where(improved, 0, life.bad_epochs + active.astype(jnp.int32))
    failed = active & ~finite
    stopped = active & finite & ~improved & (bad_epochs >= patience)
    # Its step budget (epochs * steps per epoch, or train.max_steps) is spent.
    completed = active & finite & ~stopped & (train.step >= train.hparams["total_steps"])
    finished = stopped | completed
    status = jnp.select(
        [failed, stopped, completed],
        [Status.FAILED, Status.STOPPED, Status.COMPLETED],
        life.status,
    )
    # Reduce-on-plateau (configs whose lr_schedule is "plateau"): after plateau_patience
    # evaluations without improvement the rate is multiplied by plateau_factor.
    on_plateau = train.hparams["lr_schedule"] == schedule_code("plateau")
    plateau_epochs = jnp.where(improved, 0, life.plateau_epochs + active.astype(jnp.int32))
    cut = active & on_plateau & (plateau_epochs >= train.hparams["plateau_patience"])
    lr_scale = jnp.where(cut, train.lr_scale * train.hparams["plateau_factor"], train.lr_scale)
    plateau_epochs = jnp.where(cut, 0, plateau_epochs)
    params = train.params
    if restore_best:
        params = jax.tree.map(lambda best, now: jnp.where(finished, best, now), best_params, params)
    train = train.replace(params=params, lr_scale=lr_scale)
    life = life.replace(
        best_params=best_params,
        best_score=jnp.where(improved, score, life.best_score),
        best_epoch=jnp.where(improved, epoch, life.best_epoch),
        bad_epochs=bad_epochs,
        plateau_epochs=plateau_epochs,
        epoch=epoch,
        status=status.astype(jnp.int32),
        active=life.active & ~failed & ~finished,
    )
    return ConfigState(train, life), learning_rate(train.hparams, train.step, train.lr_scale)


def stop(state: ConfigState, where, status, *, restore_best: bool) -> ConfigState:
    """End the config if it is active and `where`: its status becomes `status` (STOPPED by
    the time limit, PRUNED by a scheduler), its params those of its best evaluation when
    `restore_best`. `where` and `status` are traced: masks and statuses never recompile."""
    train, life = state.train, state.life
    ends = life.active & where
    params = train.params
    if restore_best:
        params = jax.tree.map(
            lambda best, now: jnp.where(ends, best, now), life.best_params, params
        )
    return ConfigState(
        train.replace(params=params),
        life.replace(
            status=jnp.where(ends, status, life.status).astype(jnp.int32),
            active=life.active & ~ends,
        ),
    )
