"""Configs of several widths in one program (jaxtune/population/shapes.py): each config's
arrays in the leading corner of the widest, read back exactly, the rest zero."""

import jax
import jax.numpy as jnp
import numpy as np

from jaxtune.population.shapes import corner_pad, corner_slice, corner_write, widest


def shapes(tree):
    return jax.tree.map(lambda leaf: jax.ShapeDtypeStruct(leaf.shape, leaf.dtype), tree)


NARROW = {"w": jnp.arange(6.0).reshape(2, 3), "b": jnp.array([1.0, 2.0]), "n": jnp.int32(7)}
WIDE = {"w": jnp.zeros((4, 5)), "b": jnp.zeros(3), "n": jnp.int32(0)}


def test_widest_takes_each_dimension_from_whichever_tree_is_larger_there():
    tall = {"w": jax.ShapeDtypeStruct((4, 2), jnp.float32)}
    long = {"w": jax.ShapeDtypeStruct((1, 6), jnp.float32)}
    assert widest([tall, long])["w"].shape == (4, 6)
    assert widest([tall, long])["w"].dtype == jnp.float32


def test_pad_puts_the_tree_in_the_corner_and_zeros_elsewhere():
    padded = corner_pad(NARROW, shapes(WIDE))
    assert padded["w"].shape == (4, 5) and padded["b"].shape == (3,)
    np.testing.assert_array_equal(padded["w"][:2, :3], NARROW["w"])
    assert float(jnp.abs(padded["w"]).sum()) == float(NARROW["w"].sum())  # the rest is 0
    np.testing.assert_array_equal(padded["b"], [1.0, 2.0, 0.0])
    assert int(padded["n"]) == 7  # same shape: untouched


def test_slice_reads_back_exactly_what_was_padded():
    back = corner_slice(corner_pad(NARROW, shapes(WIDE)), shapes(NARROW))
    jax.tree.map(np.testing.assert_array_equal, back, NARROW)


def test_write_replaces_the_corner_and_keeps_the_rest():
    stored = jax.tree.map(lambda leaf: jnp.full(leaf.shape, 9, leaf.dtype), WIDE)
    written = corner_write(stored, NARROW)
    np.testing.assert_array_equal(written["w"][:2, :3], NARROW["w"])
    np.testing.assert_array_equal(written["w"][2:], 9.0)
    np.testing.assert_array_equal(written["w"][:, 3:], 9.0)
    np.testing.assert_array_equal(written["b"], [1.0, 2.0, 9.0])
    assert int(written["n"]) == 7


def test_the_corner_round_trip_is_traceable_under_jit_and_vmap():
    batched = jax.tree.map(lambda leaf: jnp.stack([leaf, leaf + 1]), NARROW)
    wide = shapes(WIDE)

    def round_trip(tree):
        return corner_slice(corner_pad(tree, wide), shapes(NARROW))

    back = jax.jit(jax.vmap(round_trip))(batched)
    jax.tree.map(np.testing.assert_array_equal, back, batched)
