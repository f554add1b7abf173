"""embedding_rows.py: the batch's distinct rows, and row views of a params or optimizer tree."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxtune.embedding_rows import batch_rows, gather_rows, scatter_rows, under_table
from jaxtune.models import EMBEDDING

V, E = 9, 3
TOKENS = np.array([[4, 7, 4, 0], [2, 7, 8, 8]], np.int32)  # [B, T]: ids 0, 2, 4, 7, 8


def params():
    table = np.arange(V * E, dtype=np.float32).reshape(V, E) + 1.0  # no row is all zeros
    return {
        EMBEDDING: {"embedding": jnp.asarray(table)},
        "head": {"kernel": jnp.ones((E, 2)), "bias": jnp.zeros(2)},
    }


def train_tree():
    """(params, Adam state): the state's mu and nu mirror the table."""
    tree = params()
    return tree, optax.adam(0.1).init(tree)


@functools.partial(jax.jit, static_argnums=1)
def rows_of(tokens, vocab_size):
    return batch_rows(tokens, vocab_size)


def test_batch_rows_are_the_sorted_distinct_ids_padded_out_of_range():
    rows, inverse = rows_of(TOKENS, V)
    distinct = np.unique(TOKENS)
    assert rows.shape == (TOKENS.size,) and inverse.shape == TOKENS.shape
    np.testing.assert_array_equal(rows[: len(distinct)], distinct)
    np.testing.assert_array_equal(rows[len(distinct) :], V)  # the fill is the vocab size
    np.testing.assert_array_equal(np.asarray(rows)[np.asarray(inverse)], TOKENS)


def test_under_table_marks_the_table_and_the_optimizer_leaves_that_mirror_it():
    tree = train_tree()
    marked = {
        jax.tree_util.keystr(path): leaf.shape
        for path, leaf in jax.tree_util.tree_leaves_with_path(tree)
        if under_table(path)
    }
    assert len(marked) == 3  # the table, Adam's mu and nu of it; never count or the head
    assert set(marked.values()) == {(V, E)}
    assert all("head" not in name and "count" not in name for name in marked)


@jax.jit
def gather(tree, tokens):
    rows, _ = batch_rows(tokens, V)
    return gather_rows(tree, rows), rows


def test_gather_cuts_every_table_leaf_to_the_rows_and_reads_zeros_past_the_vocab():
    table_params, adam_state = train_tree()
    # Moments unlike the table (Adam starts them at zero), so a mixed-up leaf shows.
    adam_state = jax.tree.map(lambda leaf: np.asarray(leaf) * 2 + 3, adam_state)
    tree = (table_params, adam_state)
    view, rows = gather(tree, TOKENS)
    rows = np.asarray(rows)
    real = rows < V

    def check(path, cut, whole):
        name = jax.tree_util.keystr(path)
        if under_table(path):
            assert cut.shape == (TOKENS.size, E), name
            np.testing.assert_array_equal(cut[real], np.asarray(whole)[rows[real]], name)
            np.testing.assert_array_equal(cut[~real], 0.0, name)
        else:
            np.testing.assert_array_equal(cut, whole, name)

    jax.tree_util.tree_map_with_path(check, view, tree)


@jax.jit
def step_on_rows(tree, tokens):
    """A fake step on the row view: every table row + 100, the head kernel doubled."""
    view, rows = gather(tree, tokens)
    moved = jax.tree_util.tree_map_with_path(
        lambda path, leaf: leaf + 100.0 if under_table(path) else leaf * 2.0, view
    )
    return scatter_rows(tree, moved, rows), scatter_rows(tree, view, rows)


def test_scatter_writes_back_only_the_batch_rows_and_the_rest_from_the_view():
    tree = params()
    moved, unchanged = step_on_rows(tree, TOKENS)
    jax.tree.map(np.testing.assert_array_equal, unchanged, tree)  # gather then scatter: same
    before = np.asarray(tree[EMBEDDING]["embedding"])
    after = np.asarray(moved[EMBEDDING]["embedding"])
    present = np.isin(np.arange(V), TOKENS)
    np.testing.assert_array_equal(after[present], before[present] + 100.0)
    np.testing.assert_array_equal(after[~present], before[~present])  # the fill was dropped
    np.testing.assert_array_equal(moved["head"]["kernel"], 2.0 * tree["head"]["kernel"])
