"""Configs of different widths in one program: each config's arrays in the corner of the
widest shape.

A merged program whose variants differ in width (`hidden_size`, `num_filters`) keeps
every config's params and optimizer state at the elementwise widest shape of its
variants' (`widest`), each config's own arrays in the leading corner and zeros
elsewhere (`corner_pad`). A config's step reads its corner back at its own shape
(`corner_slice`), computes exactly what its own program computes, and writes it back
(`corner_write`), so the padding is never read and stays exactly zero.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
from jax import lax


def widest(trees: Sequence):
    """The elementwise largest shape of each leaf over trees of one structure (ShapeDtypeStruct
    leaves)."""
    return jax.tree.map(
        lambda *leaves: jax.ShapeDtypeStruct(
            tuple(max(dims) for dims in zip(*(leaf.shape for leaf in leaves), strict=True)),
            leaves[0].dtype,
        ),
        *trees,
    )


def corner_pad(tree, shapes):
    """Each leaf zero-padded at its end to the shape of `shapes`' leaf."""

    def pad(leaf, shape):
        if leaf.shape == shape.shape:
            return leaf
        widths = [(0, big - small, 0) for small, big in zip(leaf.shape, shape.shape, strict=True)]
        return lax.pad(leaf, jax.numpy.zeros((), leaf.dtype), widths)

    return jax.tree.map(pad, tree, shapes)


def corner_slice(tree, shapes):
    """Each leaf's leading corner of the shape of `shapes`' leaf."""

    def cut(leaf, shape):
        if leaf.shape == shape.shape:
            return leaf
        return lax.slice(leaf, (0,) * leaf.ndim, shape.shape)

    return jax.tree.map(cut, tree, shapes)


def corner_write(tree, corners):
    """`tree` with each leaf's leading corner replaced by `corners`' leaf."""

    def write(leaf, corner):
        if leaf.shape == corner.shape:
            return corner
        return lax.dynamic_update_slice(leaf, corner.astype(leaf.dtype), (0,) * leaf.ndim)

    return jax.tree.map(write, tree, corners)
