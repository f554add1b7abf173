"""The recurrent scan with a hand-written backward pass (`jax.custom_vjp`), as cuDNN and oneDNN do.

Autodiff of `lax.scan` accumulates the recurrent weight gradient inside the reverse loop:
one extra [H, B] x [B, G*H] matmul and an add per timestep. Here the reverse scan only
carries dh (and dc) and emits each step's gate gradients; the weight gradient is then ONE
[H, T*B] x [T*B, G*H] matmul after the loop. The forward math
(`forward_step`) is the only copy of the cell math: `cells.recurrent_layer`'s autodiff
path runs the same `run_forward` without the custom backward, and the gradients of the
two agree up to float rounding (tested).

Written for one config; `jax.vmap` lifts it (custom_vjp functions batch like any other).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax import lax


def _sigmoid(x):
    return jax.nn.sigmoid(x)


def _lstm_gates(pre):
    """pre [B, 4H] (i, f, g, o blocks) -> sigmoid(i), sigmoid(f), tanh(g), sigmoid(o) as one
    [B, 4H] array, from ONE tanh over the whole block: sigmoid(x) = (1 + tanh(x / 2)) / 2."""
    hidden_size = pre.shape[-1] // 4
    candidate = (jnp.arange(4 * hidden_size) // hidden_size == 2)[None, :]  # [1, 4H] static
    t = jnp.tanh(pre * jnp.where(candidate, 1.0, 0.5))  # [B, 4H]
    return jnp.where(candidate, t, 0.5 * t + 0.5)


def forward_step(cell, activation, w_h, b_hn, carry, x_t, mask_t, recurrent_mask):
    """One step of one cell: the one place the cell math is written.

    carry: h [B, H], or (c, h) for the LSTM. x_t: [B, G*H] input projection with bias.
    mask_t: [B] bool, False past a sequence's end (the carry is kept, the output is 0).
    Returns (new carry, output [B, H], residuals for the hand-written backward pass).
    """
    if cell == "lstm":
        c, h = carry
    else:
        h = carry
    h_in = h * recurrent_mask
    hh = h_in @ w_h  # [B, G*H]
    live = mask_t[:, None]  # [B, 1]
    if cell == "lstm":
        gates = _lstm_gates(x_t + hh)  # [B, 4H]
        i, f, g, o = jnp.split(gates, 4, axis=-1)
        c_new = f * c + i * g
        tanh_c = jnp.tanh(c_new)
        h_new = o * tanh_c
        carry = (jnp.where(live, c_new, c), jnp.where(live, h_new, h))
        residuals = (gates, c, tanh_c, h_in)
    elif cell == "gru":
        hidden_size = h.shape[-1]
        rz = _sigmoid(x_t[:, : 2 * hidden_size] + hh[:, : 2 * hidden_size])  # [B, 2H]
        r, z = rz[:, :hidden_size], rz[:, hidden_size:]
        hn_b = hh[:, 2 * hidden_size :] + b_hn[None, :]
        n = jnp.tanh(x_t[:, 2 * hidden_size :] + r * hn_b)
        h_new = (1.0 - z) * n + z * h
        carry = jnp.where(live, h_new, h)
        residuals = (rz, n, hn_b, h, h_in)
    else:
        pre = x_t + hh
        h_new = jnp.tanh(pre) if activation == "tanh" else jax.nn.relu(pre)
        carry = jnp.where(live, h_new, h)
        residuals = (h_new, h_in)
    return carry, jnp.where(live, h_new, 0.0), residuals


def run_forward(cell, activation, reverse, unroll, w_h, b_hn, x_proj, step_mask, recurrent_mask):
    batch_size = x_proj.shape[1]
    hidden_size = w_h.shape[0]
    h0 = jnp.zeros((batch_size, hidden_size), x_proj.dtype)
    carry0 = (h0, h0) if cell == "lstm" else h0

    def body(carry, inputs):
        x_t, mask_t = inputs
        carry, out, residuals = forward_step(
            cell, activation, w_h, b_hn, carry, x_t, mask_t, recurrent_mask
        )
        return carry, (out, residuals)

    carry, (outputs, residuals) = lax.scan(
        body, carry0, (x_proj, step_mask), reverse=reverse, unroll=unroll
    )
    final_h = carry[1] if cell == "lstm" else carry
    return outputs, final_h, residuals


@functools.partial(jax.custom_vjp, nondiff_argnums=(0, 1, 2, 3))
def fused_scan(cell, activation, reverse, unroll, w_h, b_hn, x_proj, step_mask, recurrent_mask):
    """Masked recurrence over time-major inputs.

    Args:
      cell: "rnn" | "gru" | "lstm"; activation: SimpleRNN's "tanh" | "relu"; reverse: bool.
      unroll: timesteps per loop iteration (static slices inside a block; see cells.py).
      w_h: [H, G*H]. b_hn: [H] (GRU; any [H] array otherwise, unused).
      x_proj: [T, B, G*H] input projection with bias. step_mask: [T, B] bool.
      recurrent_mask: [B, H] scaled dropout mask on the state fed to w_h.

    Returns:
      outputs [T, B, H] (zero at padded steps) and the final hidden state [B, H].
    """
    outputs, final_h, _ = run_forward(
        cell, activation, reverse, unroll, w_h, b_hn, x_proj, step_mask, recurrent_mask
    )
    return outputs, final_h


def _fused_scan_fwd(
    cell, activation, reverse, unroll, w_h, b_hn, x_proj, step_mask, recurrent_mask
):
    outputs, final_h, residuals = run_forward(
        cell, activation, reverse, unroll, w_h, b_hn, x_proj, step_mask, recurrent_mask
    )
    return (outputs, final_h), (w_h, step_mask, recurrent_mask, residuals)


def _cell_backward(cell, activation, residuals, d_h_new, d_c_new):
    """Gradients through one step's cell math.

    Returns (d_pre [B, G*H] w.r.t. the input projection, d_hh [B, G*H] w.r.t. h_in @ w_h,
    d_h_direct [B, H] through paths that bypass w_h, d_c_prev [B, H] or None).
    """
    if cell == "lstm":
        gates, c_prev, tanh_c, _ = residuals
        i, f, g, o = jnp.split(gates, 4, axis=-1)
        d_c = d_c_new + d_h_new * o * (1.0 - tanh_c * tanh_c)
        # One [B, 4H] expression (one loop fusion, no concatenate of four gate blocks):
        # d gate activation (d_c * g, d_c * c_prev, d_c * i, d_h * tanh_c) times the
        # activation's slope (a (1 - a) for the sigmoid gates, 1 - g^2 for the candidate).
        hidden_size = d_c.shape[-1]
        candidate = (jnp.arange(4 * hidden_size) // hidden_size) == 2  # [4H] static
        d_act = jnp.concatenate([d_c, d_c, d_c, d_h_new], axis=-1) * jnp.concatenate(
            [g, c_prev, i, tanh_c], axis=-1
        )
        slope = jnp.where(candidate, 1.0 - gates * gates, gates * (1.0 - gates))
        d_pre = d_act * slope
        return d_pre, d_pre, jnp.zeros_like(d_h_new), d_c * f
    if cell == "gru":
        rz, n, hn_b, h_prev, _ = residuals
        hidden_size = n.shape[-1]
        r, z = rz[:, :hidden_size], rz[:, hidden_size:]
        d_n_pre = d_h_new * (1.0 - z) * (1.0 - n * n)
        # Reset and update gates as one [B, 2H] expression: d activation times a (1 - a).
        d_rz_pre = jnp.concatenate([d_n_pre * hn_b, d_h_new * (h_prev - n)], axis=-1) * (
            rz * (1.0 - rz)
        )
        d_pre = jnp.concatenate([d_rz_pre, d_n_pre], axis=-1)
        d_hh = jnp.concatenate([d_rz_pre, d_n_pre * r], axis=-1)
        return d_pre, d_hh, d_h_new * z, None
    h_new, _ = residuals
    slope = 1.0 - h_new * h_new if activation == "tanh" else (h_new > 0).astype(h_new.dtype)
    d_pre = d_h_new * slope
    return d_pre, d_pre, jnp.zeros_like(d_h_new), None


def _fused_scan_bwd(cell, activation, reverse, unroll, saved, cotangents):
    w_h, step_mask, recurrent_mask, residuals = saved
    d_outputs, d_final = cotangents  # [T, B, H], [B, H]
    # Transposed once, before the loop (the barrier keeps XLA from folding the transpose
    # back into every step's matmul, where it copied [G*H, H] at each timestep).
    w_h_t = lax.optimization_barrier(w_h.T)  # [G*H, H]
    d_c0 = jnp.zeros_like(d_final) if cell == "lstm" else None

    def body(carry, inputs):
        d_h, d_c = carry  # gradients w.r.t. the carry after this step
        mask_t, d_out_t, step_residuals = inputs
        live = mask_t[:, None]
        d_h_new = jnp.where(live, d_h + d_out_t, 0.0)
        d_c_new = jnp.where(live, d_c, 0.0) if cell == "lstm" else None
        d_pre, d_hh, d_h_direct, d_c_prev = _cell_backward(
            cell, activation, step_residuals, d_h_new, d_c_new
        )
        d_h_prev = d_h_direct + (d_hh @ w_h_t) * recurrent_mask  # [B, H]
        d_h = jnp.where(live, d_h_prev, d_h)
        if cell == "lstm":
            d_c = jnp.where(live, d_c_prev, d_c)
        # Only the GRU's reset gate makes d_hh differ from d_pre: stack one array otherwise.
        return (d_h, d_c), (d_pre, d_hh if cell == "gru" else None)

    # The reverse of the forward's direction.
    _, (d_x_proj, d_hh) = lax.scan(
        body,
        (d_final, d_c0),
        (step_mask, d_outputs, residuals),
        reverse=not reverse,
        unroll=unroll,
    )
    if d_hh is None:
        d_hh = d_x_proj  # [T, B, G*H]
    h_in = residuals[-1]  # [T, B, H]: the state fed to w_h at each step
    # ONE matmul over all timesteps, [H, T*B] x [T*B, G*H]: flattened (t, b) in the order
    # the scan stacked them, so only h_in is transposed (an einsum over "tb" had XLA
    # transpose both operands to (b, t) order).
    num_steps, batch_size = h_in.shape[:2]
    d_w_h = h_in.reshape(num_steps * batch_size, -1).T @ d_hh.reshape(num_steps * batch_size, -1)
    hidden_size = w_h.shape[0]
    if cell == "gru":
        d_b_hn = jnp.sum(d_hh[..., 2 * hidden_size :], axis=(0, 1))
    else:
        d_b_hn = jnp.zeros((hidden_size,), w_h.dtype)
    return d_w_h, d_b_hn, d_x_proj, None, None


fused_scan.defvjp(_fused_scan_fwd, _fused_scan_bwd)


@jax.custom_vjp
def projection(xs, w_in, b_in):
    """The input projection xs [T, B, D] @ w_in [D, G*H] + b_in [G*H] -> [T, B, G*H].

    Its weight gradient is written out as [D, T*B] x [T*B, G*H], so XLA transposes the
    [T*B, D] inputs for the GEMM; autodiff's form, (d_x_proj^T xs)^T, had it transpose
    the G*H / D times larger [T*B, G*H] gradient instead (8 MB per LSTM B64 H128 step).
    """
    return xs @ w_in + b_in[None, None, :]


def _projection_fwd(xs, w_in, b_in):
    return projection(xs, w_in, b_in), (xs, w_in)


def _projection_bwd(saved, d_x_proj):
    xs, w_in = saved
    num_steps, batch_size, input_size = xs.shape
    d_flat = d_x_proj.reshape(num_steps * batch_size, -1)  # [T*B, G*H]
    d_w_in = xs.reshape(num_steps * batch_size, input_size).T @ d_flat  # [D, G*H]
    return d_x_proj @ w_in.T, d_w_in, jnp.sum(d_flat, axis=0)


projection.defvjp(_projection_fwd, _projection_bwd)
