"""Stacked, optionally bidirectional recurrent encoder (flax linen, one config)."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxtune.models.cells import NUM_GATES, recurrent_layer
from jaxtune.models.dropout import dropout, dropout_mask
from jaxtune.values import layer_sizes


def recurrent_kernel_init(num_gates: int):
    """Orthogonal [H, H] block per gate, side by side: [H, G*H], as flax's cells do per gate.

    All blocks come from ONE batched QR so that an init program holds few LAPACK calls.
    """

    def init(key, shape, dtype=jnp.float32):
        hidden_size = shape[0]
        normal = jax.random.normal(key, (num_gates, hidden_size, hidden_size), dtype)
        q, r = jnp.linalg.qr(normal)  # [G, H, H] each
        # Sign fix so the blocks are Haar-distributed (as flax's orthogonal initializer).
        q = q * jnp.sign(jnp.diagonal(r, axis1=-2, axis2=-1))[:, None, :]
        return jnp.concatenate(list(q), axis=1)  # [H, G*H]

    return init


def gate_bias_init(cell: str):
    """Zero biases, but the LSTM forget gate starts at 1 (Keras' unit_forget_bias)."""

    def init(key, shape, dtype=jnp.float32):
        bias = jnp.zeros(shape, dtype)
        if cell == "lstm":
            hidden_size = shape[0] // 4
            bias = bias.at[hidden_size : 2 * hidden_size].set(1.0)
        return bias

    return init


class RecurrentLayer(nn.Module):
    """One direction of one layer; parameters w_in, b_in, w_h (+ b_hn for the GRU)."""

    cell: str
    hidden_size: int
    activation: str = "tanh"
    reverse: bool = False
    fused_backward: bool = True
    unroll: int = 1

    @nn.compact
    def __call__(self, xs, lengths, recurrent_mask):
        """xs: [B, T, D], lengths: [B] int32, recurrent_mask: [B, H] -> ([B, T, H], [B, H])."""
        width = NUM_GATES[self.cell] * self.hidden_size
        params = {
            "w_in": self.param("w_in", nn.initializers.lecun_normal(), (xs.shape[-1], width)),
            "b_in": self.param("b_in", gate_bias_init(self.cell), (width,)),
            "w_h": self.param(
                "w_h", recurrent_kernel_init(NUM_GATES[self.cell]), (self.hidden_size, width)
            ),
        }
        if self.cell == "gru":
            params["b_hn"] = self.param("b_hn", nn.initializers.zeros, (self.hidden_size,))
        return recurrent_layer(
            self.cell,
            params,
            xs,
            lengths,
            recurrent_mask,
            reverse=self.reverse,
            activation=self.activation,
            fused_backward=self.fused_backward,
            unroll=self.unroll,
        )


class RNNEncoder(nn.Module):
    """Stacked recurrent layers; the representation is the final state of the top layer.

    `hidden_size` is every layer's size, or a tuple of per-layer sizes (bottom to top)
    whose length is `num_layers`. With `per_step` (tag and ctc) the representation is the
    top layer's output at every step instead. Dropout (Keras' `dropout`) is applied to each layer's
    input sequence; recurrent dropout draws one mask per sequence and layer direction
    for the state fed back.
    """

    cell: str
    hidden_size: int | tuple[int, ...]
    num_layers: int = 1
    bidirectional: bool = False
    activation: str = "tanh"
    fused_backward: bool = True
    unroll: int = 1
    per_step: bool = False

    @nn.compact
    def __call__(self, xs, lengths, *, dropout_rate, recurrent_dropout_rate, key, train):
        """xs: [B, T, E] -> [B, H] (or [B, 2H] bidirectional; per_step: [B, T, H] or
        [B, T, 2H]); H: the top layer's size."""
        directions = (False, True) if self.bidirectional else (False,)
        batch_size = xs.shape[0]
        final = None
        for layer, hidden_size in enumerate(layer_sizes(self.hidden_size, self.num_layers)):
            if train:
                key, input_key = jax.random.split(key)
                xs = dropout(input_key, dropout_rate, xs)
            outputs, finals = [], []
            for reverse in directions:
                if train:
                    key, mask_key = jax.random.split(key)
                    mask = dropout_mask(
                        mask_key, recurrent_dropout_rate, (batch_size, hidden_size), xs.dtype
                    )  # [B, H_layer]
                else:
                    mask = jnp.ones((batch_size, hidden_size), xs.dtype)  # [B, H_layer]
                name = f"layer{layer}_{'bwd' if reverse else 'fwd'}"
                out, last = RecurrentLayer(
                    self.cell,
                    hidden_size,
                    self.activation,
                    reverse,
                    self.fused_backward,
                    self.unroll,
                    name=name,
                )(xs, lengths, mask)
                outputs.append(out)
                finals.append(last)
            xs = jnp.concatenate(outputs, axis=-1)  # [B, T, H_layer * directions]
            final = jnp.concatenate(finals, axis=-1)  # [B, H_layer * directions]
        return xs if self.per_step else final
