"""Dropout with a traced rate, so configs with different rates share one compiled program."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def dropout(key, rate, x):
    """Inverted dropout. rate: scalar array in [0, 1); rate 0 returns x exactly."""
    keep = jax.random.bernoulli(key, 1.0 - rate, x.shape)
    return jnp.where(keep, x / (1.0 - rate), jnp.zeros_like(x))


def dropout_mask(key, rate, shape, dtype=jnp.float32):
    """A scaled keep mask of `shape` (for the recurrent state: one mask per sequence)."""
    keep = jax.random.bernoulli(key, 1.0 - rate, shape)
    return jnp.where(keep, 1.0 / (1.0 - rate), 0.0).astype(dtype)
