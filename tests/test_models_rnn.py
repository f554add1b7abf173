"""models/rnn.py: initialisers, and how the encoder wires layers, directions and dropout.
(Parameter shapes of stacked layers: test_layer_sizes.py; cells: test_cells.py.)"""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from jaxtune.models.cells import NUM_GATES, recurrent_layer
from jaxtune.models.rnn import RNNEncoder, gate_bias_init, recurrent_kernel_init

B, T, E = 3, 5, 4
LENGTHS = np.array([5, 3, 1], np.int32)
SIZES = (5, 3)  # bottom to top
STACK = RNNEncoder("gru", SIZES, num_layers=2, bidirectional=True)
H = 4
SINGLE = RNNEncoder("lstm", H, bidirectional=True)


def options(train=False, dropout=0.0, recurrent=0.0, key=None):
    return {
        "dropout_rate": dropout,
        "recurrent_dropout_rate": recurrent,
        "key": key,
        "train": train,
    }


def inputs(seed=0):
    xs = np.random.default_rng(seed).normal(size=(B, T, E)).astype(np.float32)
    return np.where(np.arange(T)[None, :, None] < LENGTHS[:, None, None], xs, 0.0)


def layer_params(rng, cell, input_size, hidden_size):
    """The documented layout: w_in [D, G*H], b_in [G*H], w_h [H, G*H] (+ b_hn [H], GRU)."""
    width = NUM_GATES[cell] * hidden_size
    shapes = {"w_in": (input_size, width), "b_in": (width,), "w_h": (hidden_size, width)}
    if cell == "gru":
        shapes["b_hn"] = (hidden_size,)
    return {name: rng.normal(size=shape).astype(np.float32) * 0.5 for name, shape in shapes.items()}


@functools.cache
def stack_params():
    rng = np.random.default_rng(1)
    params, input_size = {}, E
    for layer, size in enumerate(SIZES):
        for direction in ("fwd", "bwd"):
            params[f"layer{layer}_{direction}"] = layer_params(rng, "gru", input_size, size)
        input_size = 2 * size  # both directions' outputs feed the layer above
    return {"params": params}


@functools.partial(jax.jit, static_argnums=0)
def encode(encoder, variables, xs, lengths):
    return encoder.apply(variables, xs, lengths, **options())


def test_recurrent_kernel_is_one_orthogonal_block_per_gate():
    gates, h = 4, 5
    init = jax.jit(recurrent_kernel_init(gates), static_argnums=1)
    kernel = np.asarray(init(jax.random.key(1), (h, gates * h)))
    assert kernel.shape == (h, gates * h)
    blocks = np.split(kernel, gates, axis=1)
    for block in blocks:
        np.testing.assert_allclose(block.T @ block, np.eye(h), atol=1e-5)
    for a, b in zip(blocks[:-1], blocks[1:], strict=True):
        assert not np.allclose(a, b)  # each gate draws its own block


def test_only_the_lstm_forget_gate_bias_starts_at_one():
    h = 3
    lstm = np.asarray(gate_bias_init("lstm")(jax.random.key(0), (4 * h,)))
    expected = np.zeros((4, h))
    expected[1] = 1.0  # gate order i, f, g, o
    np.testing.assert_array_equal(lstm.reshape(4, h), expected)
    for cell in ("gru", "rnn"):
        width = NUM_GATES[cell] * h
        np.testing.assert_array_equal(gate_bias_init(cell)(jax.random.key(0), (width,)), 0.0)


@jax.jit
def stack_and_by_hand(variables, xs, lengths):
    """(the encoder's output, each layer's forward and backward runs concatenated by hand
    and the top layer's final states)."""
    encoded = STACK.apply(variables, xs, lengths, **options())
    params = variables["params"]
    for layer in range(len(SIZES)):
        outputs, finals = [], []
        for direction, reverse in (("fwd", False), ("bwd", True)):
            weights = params[f"layer{layer}_{direction}"]
            mask = jnp.ones((xs.shape[0], weights["w_h"].shape[0]))
            out, final = recurrent_layer("gru", weights, xs, lengths, mask, reverse=reverse)
            outputs.append(out)
            finals.append(final)
        xs = jnp.concatenate(outputs, axis=-1)  # [B, T, 2H]
    return encoded, jnp.concatenate(finals, axis=-1)  # [B, 2H] each


def test_stacked_bidirectional_encoder_is_its_layers_composed_by_hand():
    got, expected = stack_and_by_hand(stack_params(), inputs(), LENGTHS)
    assert got.shape == (B, 2 * SIZES[-1])  # the top layer's size, both directions
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def same_both_ways():
    weights = layer_params(np.random.default_rng(2), "lstm", E, H)
    return {"params": {"layer0_fwd": weights, "layer0_bwd": weights}}


def test_backward_direction_reads_each_sequence_from_its_last_real_token():
    """With the same weights both ways, the backward half of a sequence is the forward half
    of the same tokens reversed within its length."""
    same = same_both_ways()
    xs = inputs(seed=1)
    flipped = xs.copy()
    for b, length in enumerate(LENGTHS):
        flipped[b, :length] = xs[b, :length][::-1]
    forward_of_flipped = encode(SINGLE, same, flipped, LENGTHS)[:, :H]
    both = encode(SINGLE, same, xs, LENGTHS)
    np.testing.assert_allclose(both[:, H:], forward_of_flipped, rtol=1e-5, atol=1e-6)
    assert not np.allclose(both[:, :H], both[:, H:])  # the directions really differ


@jax.jit
def encode_train(variables, xs, dropout, recurrent, key):
    return SINGLE.apply(variables, xs, LENGTHS, **options(True, dropout, recurrent, key))


def test_zero_rates_train_exactly_like_evaluation_and_dropout_draws_from_the_key():
    xs, variables = inputs(), same_both_ways()
    evaluation = encode(SINGLE, variables, xs, LENGTHS)
    key, other = jax.random.key(3), jax.random.key(4)
    np.testing.assert_array_equal(encode_train(variables, xs, 0.0, 0.0, key), evaluation)
    for dropout, recurrent in ((0.5, 0.0), (0.0, 0.5)):  # input dropout, recurrent dropout
        dropped = encode_train(variables, xs, dropout, recurrent, key)
        assert not np.allclose(dropped, evaluation)
        np.testing.assert_array_equal(encode_train(variables, xs, dropout, recurrent, key), dropped)
        assert not np.allclose(encode_train(variables, xs, dropout, recurrent, other), dropped)
