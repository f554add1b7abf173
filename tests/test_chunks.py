"""population/chunks.py: the config axis `chunk` configs at a time equals one vmap, and a
chunk with no active config is skipped."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxtune.population.chunks import config_map, over_chunks

K = 5


def one_config(state, shared):
    """A config's 'step': x <- x * scale + shared; extras: its sum."""
    x = state["x"] * state["scale"][None] + shared  # [3]
    return {**state, "x": x}, {"total": jnp.sum(x)}


def population():
    return {
        "x": jnp.arange(K * 3, dtype=jnp.float32).reshape(K, 3),
        "scale": jnp.linspace(0.5, 1.5, K, dtype=jnp.float32),
        "active": jnp.array([True, True, False, False, True]),
    }


@pytest.mark.parametrize("chunk", [None, 1, 2, 3, 5, 8])
def test_any_chunk_width_equals_one_vmap(chunk):
    vmapped = jax.vmap(one_config, in_axes=(0, None))
    shared = jnp.ones(3)
    everyone = dict(population(), active=jnp.ones(K, bool))
    expected = vmapped(everyone, shared)
    got = jax.jit(
        lambda s: over_chunks(
            vmapped, chunk, s, shared, updates_input=True, active=lambda t: t["active"]
        )
    )(everyone)
    jax.tree.map(np.testing.assert_array_equal, got, expected)
    # Without updates_input the per-chunk results are stacked in order.
    stacked = jax.jit(lambda s: over_chunks(vmapped, chunk, s, shared))(everyone)
    jax.tree.map(np.testing.assert_array_equal, stacked, expected)


def test_a_chunk_with_no_active_config_keeps_its_values_and_gives_zeros():
    vmapped = jax.vmap(one_config, in_axes=(0, None))
    state = population()  # chunk 2: [T, T] [F, F] [T]
    new, extras = jax.jit(
        lambda s: over_chunks(
            vmapped, 2, s, jnp.ones(3), updates_input=True, active=lambda t: t["active"]
        )
    )(state)
    computed, _ = vmapped(state, jnp.ones(3))
    for k in (0, 1, 4):
        np.testing.assert_array_equal(new["x"][k], computed["x"][k])
    for k in (2, 3):  # skipped: the guarded step would have kept them as they were
        np.testing.assert_array_equal(new["x"][k], state["x"][k])
        assert float(extras["total"][k]) == 0.0


@pytest.mark.parametrize("width", [1, 3])
def test_config_map_is_vmap_and_runs_one_config_as_the_plain_program(width):
    state = jax.tree.map(lambda x: x[:width], population())
    lifted = config_map(one_config, in_axes=(0, None))
    expected = jax.vmap(one_config, in_axes=(0, None))(state, jnp.ones(3))
    got = jax.jit(lifted)(state, jnp.ones(3))
    jax.tree.map(np.testing.assert_array_equal, got, expected)
    if width == 1:  # the traced program has no batch dimension at all
        jaxpr = jax.make_jaxpr(lifted)(state, jnp.ones(3))
        shapes = {v.aval.shape for eqn in jaxpr.eqns for v in eqn.outvars}
        assert (3,) in shapes and (1, 3) in shapes  # computed unbatched, then expanded


@pytest.mark.parametrize("width, traces", [(4, 1), (5, 2)])
def test_the_chunk_function_is_traced_once_per_chunk_size(width, traces):
    """A merged program's step takes seconds to trace: the chunk loop, its skip branch and
    its stacked results share one trace (the remainder chunk, another size, its own)."""
    calls = []

    def counted(state, shared):
        calls.append(jax.tree.leaves(state)[0].shape[0])
        return jax.vmap(one_config, in_axes=(0, None))(state, shared)

    state = jax.tree.map(lambda leaf: leaf[:width], dict(population(), active=jnp.ones(K, bool)))
    new, _ = jax.jit(
        lambda s: over_chunks(
            counted, 2, s, jnp.ones(3), updates_input=True, active=lambda t: t["active"]
        )
    )(state)
    assert len(calls) == traces and calls[0] == 2
    expected, _ = jax.vmap(one_config, in_axes=(0, None))(state, jnp.ones(3))
    np.testing.assert_array_equal(new["x"], expected["x"])
