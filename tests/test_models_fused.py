"""models/fused.py: the one copy of the cell math against hand-written numpy steps, and the
hand-written backward pass with steps masked anywhere in the sequence. (The full layer
against flax's cells, and fused gradients for prefix masks: test_cells.py.)"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxtune.models.cells import NUM_GATES
from jaxtune.models.fused import forward_step, fused_scan, run_forward

B, T, H = 3, 6, 4
CELLS = [("gru", "tanh"), ("lstm", "tanh"), ("rnn", "tanh"), ("rnn", "relu")]
# Step masks with holes: steps masked in the middle, at the start and at the end.
STEP_MASK = np.array([[1, 1, 0, 1, 0, 1], [0, 1, 1, 1, 1, 0], [1, 0, 0, 0, 1, 1]], bool).T  # [T, B]


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def numpy_step(cell, activation, w_h, b_hn, carry, x_t, live, recurrent_mask):
    """One step from the textbook equations. Gate order GRU (r, z, n), LSTM (i, f, g, o);
    the GRU's b_hn sits inside the reset product; dropout masks the state fed to w_h."""
    c, h = carry if cell == "lstm" else (None, carry)
    hh = (h * recurrent_mask) @ w_h  # [B, G*H]
    if cell == "gru":
        x_r, x_z, x_n = np.split(x_t, 3, axis=-1)
        h_r, h_z, h_n = np.split(hh, 3, axis=-1)
        r, z = sigmoid(x_r + h_r), sigmoid(x_z + h_z)
        n = np.tanh(x_n + r * (h_n + b_hn))
        h_new = (1 - z) * n + z * h
    elif cell == "lstm":
        i, f, g, o = np.split(x_t + hh, 4, axis=-1)
        c_new = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h_new = sigmoid(o) * np.tanh(c_new)
    else:
        pre = x_t + hh
        h_new = np.tanh(pre) if activation == "tanh" else np.maximum(pre, 0.0)
    live = live[:, None]
    output = np.where(live, h_new, 0.0)
    if cell == "lstm":
        return (np.where(live, c_new, c), np.where(live, h_new, h)), output
    return np.where(live, h_new, h), output


def random_inputs(cell, seed=0):
    rng = np.random.default_rng(seed)
    width = NUM_GATES[cell] * H
    return {
        "w_h": rng.normal(size=(H, width)).astype(np.float32) * 0.6,
        "b_hn": rng.normal(size=(H,)).astype(np.float32),
        "x_proj": rng.normal(size=(T, B, width)).astype(np.float32),
        "recurrent_mask": (rng.random((B, H)) < 0.7).astype(np.float32) / 0.7,
        "h": rng.normal(size=(B, H)).astype(np.float32),
        "c": rng.normal(size=(B, H)).astype(np.float32),
    }


@functools.partial(jax.jit, static_argnums=(0, 1))
def one_step(cell, activation, w_h, b_hn, carry, x_t, live, recurrent_mask):
    carry, output, _ = forward_step(cell, activation, w_h, b_hn, carry, x_t, live, recurrent_mask)
    return carry, output


@pytest.mark.parametrize("cell,activation", CELLS)
def test_forward_step_equals_the_numpy_step(cell, activation):
    inputs = random_inputs(cell)
    carry = (inputs["c"], inputs["h"]) if cell == "lstm" else inputs["h"]
    live = np.array([True, False, True])  # the second sequence has ended
    args = (inputs["w_h"], inputs["b_hn"], carry, inputs["x_proj"][0], live)
    got = one_step(cell, activation, *args, inputs["recurrent_mask"])
    expected = numpy_step(cell, activation, *args, inputs["recurrent_mask"])
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), got, expected)
    # The ended sequence keeps its carry exactly and outputs zeros.
    jax.tree.map(lambda new, old: np.testing.assert_array_equal(new[1], old[1]), got[0], carry)
    np.testing.assert_array_equal(got[1][1], 0.0)


@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def scan(cell, activation, reverse, w_h, b_hn, x_proj, step_mask, recurrent_mask):
    return fused_scan(cell, activation, reverse, 1, w_h, b_hn, x_proj, step_mask, recurrent_mask)


@pytest.mark.parametrize(
    "cell,reverse", [("gru", False), ("lstm", True)], ids=["gru", "lstm-reverse"]
)
def test_masked_steps_anywhere_hold_the_carry_like_a_numpy_loop(cell, reverse):
    inputs = random_inputs(cell, seed=1)
    args = (inputs["w_h"], inputs["b_hn"], inputs["x_proj"], STEP_MASK, inputs["recurrent_mask"])
    outputs, final_h = scan(cell, "tanh", reverse, *args)
    zeros = np.zeros((B, H), np.float32)
    carry = (zeros, zeros) if cell == "lstm" else zeros
    expected = np.zeros((T, B, H), np.float32)
    for t in reversed(range(T)) if reverse else range(T):
        carry, expected[t] = numpy_step(
            cell,
            "tanh",
            inputs["w_h"],
            inputs["b_hn"],
            carry,
            inputs["x_proj"][t],
            STEP_MASK[t],
            inputs["recurrent_mask"],
        )
    np.testing.assert_allclose(outputs, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(final_h, carry[1] if cell == "lstm" else carry, rtol=1e-5, atol=1e-6)


@functools.partial(jax.jit, static_argnums=(0, 1))
def both_gradients(cell, reverse, w_h, b_hn, x_proj, weights):
    """Gradients w.r.t. (w_h, b_hn, x_proj): the hand-written backward pass and autodiff."""

    def loss(w_h, b_hn, x_proj, fused):
        arguments = (cell, "tanh", reverse, 1, w_h, b_hn, x_proj, STEP_MASK, weights["mask"])
        outputs, final_h = fused_scan(*arguments) if fused else run_forward(*arguments)[:2]
        return jnp.sum(outputs * weights["out"]) + jnp.sum(jnp.tanh(final_h) * weights["final"])

    return tuple(jax.grad(loss, (0, 1, 2))(w_h, b_hn, x_proj, fused) for fused in (True, False))


@pytest.mark.parametrize(
    "cell,reverse", [("gru", True), ("lstm", False)], ids=["gru-reverse", "lstm"]
)
def test_fused_backward_equals_autodiff_through_masked_steps_anywhere(cell, reverse):
    inputs = random_inputs(cell, seed=2)
    rng = np.random.default_rng(3)
    weights = {
        "mask": inputs["recurrent_mask"],
        "out": rng.normal(size=(T, B, H)).astype(np.float32),
        "final": rng.normal(size=(B, H)).astype(np.float32),
    }
    fused, autodiff = both_gradients(
        cell, reverse, inputs["w_h"], inputs["b_hn"], inputs["x_proj"], weights
    )
    jax.tree.map(
        lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), fused, autodiff
    )
    assert all(np.abs(leaf).max() > 0 for leaf in jax.tree.leaves(autodiff[:1] + autodiff[2:]))
    # A masked step's input is never read: its gradient is exactly zero.
    np.testing.assert_array_equal(np.asarray(fused[2])[~STEP_MASK], 0.0)
