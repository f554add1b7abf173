"""The lazy embedding update (`train.embedding_update: lazy`): only the batch's rows move.

A dense optimizer step reads and writes the whole [V, E] table and its moments at every
step, though only the rows of the batch's tokens have a gradient: for small models that
memory traffic is about half the step on a CPU (benchmarks/README.md). The lazy update
gathers the batch's rows of the table and of every optimizer-state leaf that mirrors it
into [N, E] row views, runs the step on them (the forward looks tokens up in the view, so
no [V, E] gradient is formed) and scatters the results back, as TensorFlow's LazyAdam
and PyTorch's SparseAdam do. A population gathers the rows of all the configs it steps
together (one chunk, or all K) at once (population/factory.py).

What it changes (opt-in because of this): a row absent from a batch keeps its value and
its moments exactly; the dense update would still move it by its momentum and decay its
moments (and weight decay would shrink it). Rows present in a batch get the same update
as the dense step. Every optax optimizer works unchanged: step counters are shared.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from jaxtune.models.classifier import EMBEDDING

MODES = ("dense", "lazy")


def batch_rows(tokens, vocab_size: int):
    """(rows, inverse): the distinct ids of tokens [B, T] and each token's index in them.

    rows [B*T] int32 is sorted and padded with vocab_size, an index out of range: gathers
    read zeros there and scatters drop it. inverse [B, T]: tokens == rows[inverse].
    """
    rows, inverse = jnp.unique(
        tokens.reshape(-1), size=tokens.size, fill_value=vocab_size, return_inverse=True
    )
    return rows, inverse.reshape(tokens.shape)


def under_table(path) -> bool:
    """True for the table's leaf and the optimizer-state leaves that mirror it."""
    return any(getattr(key, "key", None) == EMBEDDING for key in path)


def gather_rows(tree, rows):
    """`tree` (a TrainState, params or optimizer state) with every table leaf cut to rows [N]."""
    return jax.tree_util.tree_map_with_path(
        lambda path, leaf: (
            jnp.take(leaf, rows, axis=0, mode="fill", fill_value=0) if under_table(path) else leaf
        ),
        tree,
    )


def scatter_rows(tree, view, rows):
    """`tree` with the row view's table leaves written back at rows and the rest from view."""

    def scatter(leaf, new):
        # Each leaf's scatter gets its own copy of the indices (an optimization barrier):
        # XLA CPU's multi-output fusion (jaxtune/__init__.py) would otherwise fuse the
        # table's and its moments' scatters, siblings sharing `rows`, into one loop
        # fusion, which jaxlib 0.10.2's loop emitter cannot emit (a check failure that
        # aborts the process; tests/test_xla_flags.py).
        own_rows, new = lax.optimization_barrier((rows, new))
        return leaf.at[own_rows].set(new, mode="drop")

    return jax.tree_util.tree_map_with_path(
        lambda path, leaf, new: scatter(leaf, new) if under_table(path) else new, tree, view
    )
