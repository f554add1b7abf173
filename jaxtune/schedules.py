"""Learning-rate schedules with per-config parameters, as traced scalars (one program for all).

Every config's rate at optimizer step s is

    learning_rate * warmup(s) * shape(s) * lr_scale

where `warmup` ramps linearly from 1/warmup_steps to 1 over `warmup_steps`, `shape` is
the config's schedule after the warmup (constant 1; cosine from 1 down to min_lr_ratio
over the rest of the run; exponential decay_rate^(s / decay_steps)), and `lr_scale` is
the state reduce-on-plateau multiplies by `plateau_factor` (population/lifecycle.py). The schedule
kind is itself a dynamic hyperparameter: every shape is computed and one selected, so
configs with different schedules share a population.
"""

from __future__ import annotations

import jax.numpy as jnp

SCHEDULES = ("constant", "cosine", "exponential", "plateau")


def schedule_code(name: str) -> int:
    return SCHEDULES.index(name)


def learning_rate(hparams, step, lr_scale):
    """The rate of one config at optimizer step `step` (int32 scalar, 0-based)."""
    s = step.astype(jnp.float32)
    warmup_steps = hparams["warmup_steps"]
    warmup = jnp.where(
        warmup_steps > 0, jnp.minimum((s + 1.0) / jnp.maximum(warmup_steps, 1.0), 1.0), 1.0
    )
    after = jnp.maximum(s - warmup_steps, 0.0)  # steps since the warmup ended
    span = jnp.maximum(hparams["total_steps"] - warmup_steps, 1.0)
    progress = jnp.minimum(after / span, 1.0)
    floor = hparams["min_lr_ratio"]
    cosine = floor + (1.0 - floor) * 0.5 * (1.0 + jnp.cos(jnp.pi * progress))
    exponential = hparams["decay_rate"] ** (after / hparams["decay_steps"])
    code = hparams["lr_schedule"]
    shape = jnp.select(
        [code == schedule_code("cosine"), code == schedule_code("exponential")],
        [cosine, exponential],
        1.0,
    )
    return hparams["learning_rate"] * warmup * shape * lr_scale
