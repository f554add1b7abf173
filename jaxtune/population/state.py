"""What one config carries between steps: the training state a step updates and the
lifecycle the evaluations decide. A population has a leading K axis on every leaf.

A snapshot (snapshots.py) stores the state as one flat mapping from field name to value,
the layout sweeps written before this split used (`flat` / `from_flat`), so a sweep
killed under an earlier version resumes.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import flax.struct
import jax
import jax.numpy as jnp

from jaxtune.population.status import Status


@flax.struct.dataclass
class TrainState:
    """What a train step reads and the optimizer updates."""

    params: Any
    opt_state: Any
    hparams: dict[str, jax.Array]  # dynamic hyperparameters, scalars
    key: jax.Array  # this config's key; step keys are fold_in(key, step)
    step: jax.Array  # int32, optimizer steps taken
    lr_scale: jax.Array  # float32, learning-rate multiplier cut by reduce-on-plateau


@flax.struct.dataclass
class Lifecycle:
    """What the evaluations decide: whether the config trains on, and its best so far."""

    active: jax.Array  # bool, still training
    status: jax.Array  # int32 Status
    epoch: jax.Array  # int32, evaluations done while active
    best_score: jax.Array  # float32, best monitored value (sign flipped so larger is better)
    best_epoch: jax.Array  # int32, 0 before the first evaluation
    bad_epochs: jax.Array  # int32, evaluations since the last improvement
    best_params: Any
    failed_step: jax.Array  # int32, step at which the loss or params became non-finite, -1
    plateau_epochs: jax.Array  # int32, evaluations without improvement since the last cut


@flax.struct.dataclass
class ConfigState:
    train: TrainState
    life: Lifecycle


def initial_state(params, opt_state, hparams, key) -> ConfigState:
    """One config before its first step: running, nothing best yet."""
    return ConfigState(
        train=TrainState(
            params=params,
            opt_state=opt_state,
            hparams=hparams,
            key=key,
            step=jnp.int32(0),
            lr_scale=jnp.float32(1.0),
        ),
        life=Lifecycle(
            active=jnp.bool_(True),
            status=jnp.int32(Status.RUNNING),
            epoch=jnp.int32(0),
            best_score=jnp.float32(-jnp.inf),
            best_epoch=jnp.int32(0),
            bad_epochs=jnp.int32(0),
            best_params=params,
            failed_step=jnp.int32(-1),
            plateau_epochs=jnp.int32(0),
        ),
    )


def flat(state: ConfigState) -> dict[str, Any]:
    """Every field by name, in one mapping (the snapshot layout)."""
    parts = (state.train, state.life)
    return {f.name: getattr(part, f.name) for part in parts for f in dataclasses.fields(part)}


def from_flat(fields: dict[str, Any]) -> ConfigState:
    def build(cls):
        return cls(**{f.name: fields[f.name] for f in dataclasses.fields(cls)})

    return ConfigState(train=build(TrainState), life=build(Lifecycle))
