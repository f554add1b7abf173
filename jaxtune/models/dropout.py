"""Dropout with a traced rate, so configs with different rates share one compiled program.

The keep test compares 16-bit random draws with the rate: each 32-bit draw of
`jax.random.bits` serves two elements, half the threefry work of a float draw per element
(`jax.random.bernoulli`), which was 6-11% of a population step's traced op time. A rate is
applied as the nearest multiple of 1/65536 (0.3 keeps with probability 0.699997), and the
kept values are scaled by the inverse of that exact probability, so the expectation is
kept exactly.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

LEVELS = 1 << 16  # values of a 16-bit draw


def keep_mask(key, rate, shape):
    """(keep [shape] bool, its probability): P(keep) = 1 - round(rate * 65536) / 65536."""
    size = math.prod(shape)
    words = jax.random.bits(key, ((size + 1) // 2,), jnp.uint32)  # [ceil(size / 2)]
    halves = jnp.stack([words & 0xFFFF, words >> 16], axis=-1)  # [ceil(size / 2), 2]
    draws = halves.reshape(-1)[:size].reshape(shape)  # uniform on 0 .. 65535
    threshold = jnp.clip(jnp.round(rate * LEVELS), 0, LEVELS - 1)  # a rate below 1 keeps some
    keep = draws >= threshold.astype(jnp.uint32)
    return keep, 1.0 - threshold / LEVELS


def dropout(key, rate, x):
    """Inverted dropout. rate: scalar array in [0, 1); rate 0 returns x exactly."""
    keep, probability = keep_mask(key, rate, x.shape)
    return jnp.where(keep, x / probability.astype(x.dtype), jnp.zeros_like(x))


def dropout_mask(key, rate, shape, dtype=jnp.float32):
    """A scaled keep mask of `shape` (for the recurrent state: one mask per sequence)."""
    keep, probability = keep_mask(key, rate, shape)
    return jnp.where(keep, 1.0 / probability, 0.0).astype(dtype)
