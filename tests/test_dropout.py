"""Dropout from 16-bit draws (models/dropout.py): the rate it promises, unbiased scaling."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxtune.models.dropout import LEVELS, dropout, dropout_mask, keep_mask


def test_rate_zero_returns_the_input_exactly():
    x = jax.random.normal(jax.random.key(0), (4, 7, 5))
    np.testing.assert_array_equal(dropout(jax.random.key(1), jnp.float32(0.0), x), x)
    np.testing.assert_array_equal(
        dropout_mask(jax.random.key(1), jnp.float32(0.0), (3, 5)), np.ones((3, 5))
    )


@pytest.mark.parametrize("rate", [0.1, 0.3, 0.5, 0.8])
def test_keep_fraction_and_mean_match_the_rate(rate):
    shape = (256, 301)  # odd element count: the last word's second half is unused
    x = jnp.ones(shape)
    out = np.asarray(dropout(jax.random.key(7), jnp.float32(rate), x))
    kept = out != 0
    probability = 1.0 - round(rate * LEVELS) / LEVELS
    sigma = np.sqrt(probability * (1 - probability) / kept.size)
    assert abs(kept.mean() - probability) < 5 * sigma
    # Kept values carry the inverse of the exact keep probability: an unbiased mean.
    np.testing.assert_allclose(out[kept], 1.0 / probability, rtol=1e-6)
    assert abs(out.mean() - 1.0) < 5 * sigma / probability


def test_the_two_halves_of_a_draw_are_independent():
    # Neighbours share one 32-bit word; at rate 0.5 they must agree half of the time, not
    # always (one half used twice) or never.
    keep, _ = keep_mask(jax.random.key(3), jnp.float32(0.5), (200_000,))
    keep = np.asarray(keep)
    agree = (keep[0::2] == keep[1::2]).mean()
    assert abs(agree - 0.5) < 5 * np.sqrt(0.25 / (keep.size // 2))


def test_rate_is_the_nearest_multiple_of_one_65536th_and_never_drops_everything():
    _, probability = keep_mask(jax.random.key(0), jnp.float32(0.3), (4,))
    assert float(probability) == pytest.approx(1 - round(0.3 * LEVELS) / LEVELS, abs=1e-7)
    mask = dropout_mask(jax.random.key(0), jnp.float32(1 - 1e-7), (8,))
    assert np.all(np.isfinite(mask))
    _, probability = keep_mask(jax.random.key(0), jnp.float32(1 - 1e-7), (8,))
    assert float(probability) == pytest.approx(1 / LEVELS)


def test_keys_give_different_masks_and_a_key_the_same_one():
    rate = jnp.float32(0.5)
    a, _ = keep_mask(jax.random.key(0), rate, (64, 64))
    b, _ = keep_mask(jax.random.key(1), rate, (64, 64))
    again, _ = keep_mask(jax.random.key(0), rate, (64, 64))
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(a, again)


def test_a_traced_rate_under_vmap_equals_each_config_alone():
    keys = jax.random.split(jax.random.key(5), 3)
    rates = jnp.array([0.0, 0.25, 0.6])
    x = jax.random.normal(jax.random.key(6), (3, 10, 9))
    together = jax.vmap(dropout)(keys, rates, x)
    for i in range(3):
        np.testing.assert_array_equal(together[i], dropout(keys[i], rates[i], x[i]))
