"""Cells match flax's reference cells given the same weights; padding never changes results."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxtune.models import build_classifier
from jaxtune.models.cells import cell_step, hidden, init_carry, recurrent_layer
from jaxtune.space import complete_config

B, T, D, H = 3, 7, 5, 4
LENGTHS = jnp.array([7, 4, 1], jnp.int32)


def flax_cell(cell, activation="tanh"):
    if cell == "gru":
        return nn.GRUCell(H)
    if cell == "lstm":
        return nn.LSTMCell(H)
    return nn.SimpleCell(H, activation_fn={"tanh": jnp.tanh, "relu": jax.nn.relu}[activation])


def random_flax_params(cell, activation, key):
    """Flax cell params with every bias nonzero, so bias placement is tested too."""
    module = flax_cell(cell, activation)
    carry = module.initialize_carry(jax.random.key(0), (B, D))
    params = module.init(key, carry, jnp.zeros((B, D)))["params"]
    leaves, treedef = jax.tree.flatten(params)
    keys = jax.random.split(jax.random.fold_in(key, 1), len(leaves))
    leaves = [0.5 * jax.random.normal(k, leaf.shape) for k, leaf in zip(keys, leaves, strict=True)]
    return jax.tree.unflatten(treedef, leaves)


def to_jaxtune(cell, p):
    """Our fused layout from flax's per-gate Dense params."""
    cat = lambda names, what: jnp.concatenate([p[n][what] for n in names], axis=-1)
    if cell == "gru":
        return {
            "w_in": cat(["ir", "iz", "in"], "kernel"),
            "b_in": cat(["ir", "iz", "in"], "bias"),
            "w_h": cat(["hr", "hz", "hn"], "kernel"),
            "b_hn": p["hn"]["bias"],
        }
    if cell == "lstm":
        return {
            "w_in": cat(["ii", "if", "ig", "io"], "kernel"),
            "b_in": cat(["hi", "hf", "hg", "ho"], "bias"),
            "w_h": cat(["hi", "hf", "hg", "ho"], "kernel"),
        }
    return {"w_in": p["i"]["kernel"], "b_in": p["i"]["bias"], "w_h": p["h"]["kernel"]}


CELLS = [("gru", "tanh"), ("lstm", "tanh"), ("rnn", "tanh"), ("rnn", "relu")]


@pytest.mark.parametrize("cell,activation", CELLS)
def test_one_step_matches_flax_cell(cell, activation):
    key_p, key_x, key_h = jax.random.split(jax.random.key(1), 3)
    flax_params = random_flax_params(cell, activation, key_p)
    ours = to_jaxtune(cell, flax_params)
    x = jax.random.normal(key_x, (B, D))
    h = jax.random.normal(key_h, (B, H))
    carry = (h * 0.5, h) if cell == "lstm" else h  # flax's LSTM carry is (c, h) too
    expected_carry, _ = flax_cell(cell, activation).apply({"params": flax_params}, carry, x)
    x_proj = x @ ours["w_in"] + ours["b_in"][None, :]
    got = cell_step(cell, ours, carry, x_proj, jnp.ones((B, H)), activation)
    jax.tree.map(
        lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), got, expected_carry
    )


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
@pytest.mark.parametrize("cell,activation", CELLS)
def test_full_sequence_matches_flax_rnn_with_lengths(cell, activation, reverse):
    key_p, key_x = jax.random.split(jax.random.key(2))
    flax_params = random_flax_params(cell, activation, key_p)
    xs = jax.random.normal(key_x, (B, T, D))
    rnn = nn.RNN(flax_cell(cell, activation), return_carry=True, reverse=reverse, keep_order=True)
    final_carry, expected_out = rnn.apply(
        {"params": {"cell": flax_params}}, xs, seq_lengths=LENGTHS
    )
    outputs, final_h = recurrent_layer(
        cell,
        to_jaxtune(cell, flax_params),
        xs,
        LENGTHS,
        jnp.ones((B, H)),
        reverse=reverse,
        activation=activation,
    )
    np.testing.assert_allclose(final_h, hidden(cell, final_carry), rtol=1e-5, atol=1e-6)
    valid = np.arange(T)[None, :] < np.asarray(LENGTHS)[:, None]  # [B, T]
    np.testing.assert_allclose(
        np.asarray(outputs)[valid], np.asarray(expected_out)[valid], rtol=1e-5, atol=1e-6
    )
    assert not np.asarray(outputs)[~valid].any()  # padded steps output zeros


@pytest.mark.parametrize("cell", ["gru", "lstm", "rnn"])
def test_scan_equals_step_by_step_loop(cell):
    key_p, key_x, key_m = jax.random.split(jax.random.key(3), 3)
    params = to_jaxtune(cell, random_flax_params(cell, "tanh", key_p))
    xs = jax.random.normal(key_x, (B, T, D))
    mask = jax.random.bernoulli(key_m, 0.7, (B, H)) / 0.7  # a recurrent dropout mask
    outputs, final_h = recurrent_layer(cell, params, xs, LENGTHS, mask)
    carry = init_carry(cell, B, H)
    for t in range(T):
        new = cell_step(
            cell, params, carry, xs[:, t] @ params["w_in"] + params["b_in"][None, :], mask
        )
        live = (t < LENGTHS)[:, None]
        carry = jax.tree.map(lambda n, o, live=live: jnp.where(live, n, o), new, carry)
        np.testing.assert_allclose(
            outputs[:, t], jnp.where(live, hidden(cell, carry), 0.0), rtol=1e-5, atol=1e-6
        )
    np.testing.assert_allclose(final_h, hidden(cell, carry), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "overrides",
    [
        {"architecture": "gru", "num_layers": 2, "bidirectional": True},
        {"architecture": "lstm"},
        {"architecture": "rnn", "rnn_activation": "relu", "bidirectional": True},
        {"architecture": "cnn", "filter_sizes": (2, 3)},
    ],
    ids=["gru-2layer-bidi", "lstm", "rnn-relu-bidi", "cnn"],
)
def test_classifier_ignores_whatever_follows_each_length(overrides):
    """Logits are unchanged by extra padding columns, even filled with random tokens."""
    config = complete_config({"hidden_size": 6, "embedding_dim": 4, "num_filters": 3, **overrides})
    model = build_classifier(config, vocab_size=20, num_classes=3)
    key_tokens, key_junk, key_init = jax.random.split(jax.random.key(4), 3)
    lengths = jnp.array([6, 3, 5], jnp.int32)  # >= the widest CNN window
    tokens = jax.random.randint(key_tokens, (3, 6), 2, 20)
    tokens = jnp.where(jnp.arange(6)[None, :] < lengths[:, None], tokens, 0)
    params = model.init(key_init, tokens, lengths)
    junk = jax.random.randint(key_junk, (3, 9), 2, 20)
    longer = jnp.where(
        jnp.arange(15)[None, :] < lengths[:, None],
        jnp.concatenate([tokens, jnp.zeros((3, 9), jnp.int32)], axis=1),
        jnp.concatenate([jnp.zeros((3, 6), jnp.int32), junk], axis=1),
    )
    np.testing.assert_allclose(
        model.apply(params, tokens, lengths),
        model.apply(params, longer, lengths),
        rtol=1e-5,
        atol=1e-6,
    )
    # ...while a change inside a sequence does change its logits (the test can fail).
    changed = tokens.at[1, 0].set((tokens[1, 0] + 1) % 18 + 2)
    assert not np.allclose(
        model.apply(params, tokens, lengths)[1], model.apply(params, changed, lengths)[1]
    )


@pytest.mark.parametrize("unroll", [1, 3], ids=["unroll1", "unroll3"])
@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
@pytest.mark.parametrize("cell,activation", CELLS)
def test_fused_backward_gradients_equal_autodiff(cell, activation, reverse, unroll):
    """The hand-written backward pass (one weight-gradient matmul after the loop) equals
    autodiff of the scan, with padding, recurrent dropout and both output paths used."""
    keys = jax.random.split(jax.random.key(5), 5)
    params = to_jaxtune(cell, random_flax_params(cell, activation, keys[0]))
    xs = jax.random.normal(keys[1], (B, T, D))
    mask = jax.random.bernoulli(keys[2], 0.7, (B, H)) / 0.7
    out_weights = jax.random.normal(keys[3], (B, T, H))
    final_weights = jax.random.normal(keys[4], (B, H))

    def loss(params, xs, fused):
        # Unrolling applies to the fused scan; 3 does not divide T=7 (a remainder block).
        outputs, final_h = recurrent_layer(
            cell,
            params,
            xs,
            LENGTHS,
            mask,
            reverse=reverse,
            activation=activation,
            fused_backward=fused,
            unroll=unroll if fused else 1,
        )
        return jnp.sum(outputs * out_weights) + jnp.sum(jnp.tanh(final_h) * final_weights)

    np.testing.assert_allclose(loss(params, xs, True), loss(params, xs, False), rtol=1e-6)
    fused = jax.grad(loss, argnums=(0, 1))(params, xs, True)
    autodiff = jax.grad(loss, argnums=(0, 1))(params, xs, False)
    jax.tree.map(
        lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), fused, autodiff
    )
    assert all(np.abs(leaf).max() > 0 for leaf in jax.tree.leaves(autodiff))
