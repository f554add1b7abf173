"""Recurrent cells (SimpleRNN, GRU, LSTM) and the masked `lax.scan` that runs one layer.

Written for one config. Gate blocks are laid out side by side in one `[H, G*H]`
recurrent matrix so each step is one fused matmul; the input projection for all
timesteps is one matmul hoisted out of the scan.

Gate order: GRU (r, z, n) as in flax `GRUCell`; LSTM (i, f, g, o) as in flax `LSTMCell`.
"""

from __future__ import annotations

import jax.numpy as jnp

from jaxtune.models.fused import forward_step, fused_scan, projection, run_forward

NUM_GATES = {"rnn": 1, "gru": 3, "lstm": 4}


def init_carry(cell: str, batch_size: int, hidden_size: int, dtype=jnp.float32):
    """Zero state: h [B, H], or (c, h) for the LSTM."""
    h = jnp.zeros((batch_size, hidden_size), dtype)
    return (h, h) if cell == "lstm" else h


def hidden(cell: str, carry):
    """The output state h [B, H] of a carry."""
    return carry[1] if cell == "lstm" else carry


def cell_step(cell: str, params, carry, x_proj, recurrent_mask, activation: str = "tanh"):
    """One timestep (`fused.forward_step`, the one copy of the cell math).

    Args:
      params: w_h [H, G*H], and for the GRU b_hn [H] (the bias inside the reset product).
      carry: h [B, H], or (c, h) for the LSTM.
      x_proj: [B, G*H] input projection of this timestep, bias included.
      recurrent_mask: [B, H] dropout mask (already scaled) on the state fed to w_h.

    Returns:
      the new carry.
    """
    hidden_size = params["w_h"].shape[0]
    b_hn = params.get("b_hn", jnp.zeros((hidden_size,), x_proj.dtype))
    live = jnp.ones(x_proj.shape[:1], bool)  # [B]
    carry, _, _ = forward_step(
        cell, activation, params["w_h"], b_hn, carry, x_proj, live, recurrent_mask
    )
    return carry


def recurrent_layer(
    cell: str,
    params,
    xs,
    lengths,
    recurrent_mask,
    *,
    reverse: bool = False,
    activation: str = "tanh",
    fused_backward: bool = True,
    unroll: int = 1,
):
    """Run one recurrent layer over padded sequences.

    Padding is masked: the carry stops changing after each sequence's true length (or,
    with `reverse`, starts changing at it), so the final state is the state at the
    sequence's last real token and outputs at padded steps are zero.

    With `fused_backward` the scan has a hand-written backward pass (models/fused.py:
    the recurrent weight gradient is one matmul after the reverse loop); without it,
    autodiff differentiates the same forward scan (`fused.run_forward`).

    Args:
      params: w_in [D, G*H], b_in [G*H], w_h [H, G*H] (+ b_hn [H] for the GRU).
      xs: [B, T, D] inputs. lengths: [B] int32. recurrent_mask: [B, H].

    Returns:
      outputs [B, T, H] and the final hidden state [B, H].
    """
    batch_size, num_steps, _ = xs.shape
    hidden_size = params["w_h"].shape[0]
    # Time-major before the projection: transposing [B, T, D] is cheaper than [B, T, G*H],
    # and XLA CPU otherwise computes the product G*H-major and transposes it (10% of an
    # LSTM step at B64 H128, benchmarks/README.md).
    xs_time_major = jnp.swapaxes(xs, 0, 1)  # [T, B, D]
    step_mask = jnp.arange(num_steps)[:, None] < lengths[None, :]  # [T, B]
    if fused_backward:
        x_proj = projection(xs_time_major, params["w_in"], params["b_in"])  # [T, B, G*H]
        b_hn = params.get("b_hn", jnp.zeros((hidden_size,), xs.dtype))
        outputs, final_h = fused_scan(
            cell,
            activation,
            reverse,
            unroll,
            params["w_h"],
            b_hn,
            x_proj,
            step_mask,
            recurrent_mask,
        )
        return jnp.swapaxes(outputs, 0, 1), final_h  # [B, T, H], [B, H]

    x_proj = xs_time_major @ params["w_in"] + params["b_in"][None, None, :]  # [T, B, G*H]
    b_hn = params.get("b_hn", jnp.zeros((hidden_size,), xs.dtype))
    outputs, final_h, _ = run_forward(
        cell, activation, reverse, unroll, params["w_h"], b_hn, x_proj, step_mask, recurrent_mask
    )
    return jnp.swapaxes(outputs, 0, 1), final_h  # [B, T, H], [B, H]
