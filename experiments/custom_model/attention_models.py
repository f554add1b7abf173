"""Two attention encoders to plug into a jaxtune sweep as the user's own architecture.

Each module is written for one config: its dataclass fields are static hyperparameters,
`dynamic_hparams` names the traced ones. `attention_dropout` arrives as a traced float32
scalar (each config's own value inside a population), so it goes through jaxtune's
`dropout`, never through a flax setting that flax treats as static.
"""

from __future__ import annotations

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxtune.models.dropout import dropout

POOLINGS = ("mean", "cls")


def valid_steps(lengths, num_steps):
    """[B, T] bool, True where step t is real (t < lengths[b]). lengths: [B] int32."""
    return jnp.arange(num_steps)[None, :] < lengths[:, None]  # [B, T]


def masked_softmax(scores, valid):
    """Softmax over the last axis restricted to `valid`; a row with no valid step gives
    zeros, not NaN. scores: [B, T] float, valid: [B, T] bool."""
    # A finite floor: a fully masked row softmaxes to uniform (finite), then the product
    # zeroes it. -inf would give NaN there, and NaN gradients.
    scores = jnp.where(valid, scores, jnp.finfo(scores.dtype).min)  # [B, T]
    return jax.nn.softmax(scores, axis=-1) * valid  # [B, T]


def attention_with_dropout(
    query, key, value, mask=None, dropout_rng=None, dtype=None, precision=None, module=None, *, rate
):
    """Dot-product attention with traced-rate dropout on the weights: an `attention_fn`
    for nn.MultiHeadDotProductAttention.

    query, key, value: [B, T, N, D] (N heads of width D); mask: [B, 1, T, T] bool; rate:
    float32 scalar, bound with functools.partial. MHA passes `dropout_rng` on from its own
    call; None (evaluation) means no dropout.
    """
    weights = nn.dot_product_attention_weights(
        query, key, mask=mask, dtype=dtype, precision=precision, module=module
    )  # [B, N, T, T]
    if dropout_rng is not None:
        weights = dropout(dropout_rng, rate, weights)  # [B, N, T, T]
    return jnp.einsum("bnqk,bknd->bqnd", weights, value, precision=precision)  # [B, T, N, D]


class EncoderBlock(nn.Module):
    """One pre-LayerNorm Transformer block: x + attention(LN(x)), then x + MLP(LN(x))."""

    num_heads: int
    ff_size: int

    @nn.compact
    def __call__(self, x, mask, rate, key):
        """x: [B, T, H] float32; mask: [B, 1, T, T] bool; rate: float32 scalar attention
        dropout; key: PRNG key, or None for no dropout."""
        attention = nn.MultiHeadDotProductAttention(
            num_heads=self.num_heads,
            dropout_rate=0.0,  # static in flax: the traced rate goes through attention_fn
            attention_fn=functools.partial(attention_with_dropout, rate=rate),
        )
        x = x + attention(nn.LayerNorm()(x), mask=mask, dropout_rng=key)  # [B, T, H]
        hidden = nn.gelu(nn.Dense(self.ff_size)(nn.LayerNorm()(x)))  # [B, T, F]
        return x + nn.Dense(x.shape[-1])(hidden)  # [B, T, H]


class TransformerEncoder(nn.Module):
    """Pre-LayerNorm Transformer encoder with learned positions, pooled to [B, hidden_size].

    pooling "mean" averages the valid steps; "cls" prepends a learned CLS step and returns
    its output.
    """

    hidden_size: int = 64
    num_heads: int = 4
    num_layers: int = 1
    ff_size: int = 128
    pooling: str = "mean"
    max_positions: int = 512

    dynamic_hparams = {"attention_dropout": 0.1}

    @nn.compact
    def __call__(self, xs, lengths, hparams, *, key=None, train=False):
        """xs: [B, T, E] float32, lengths: [B] int32 -> features [B, hidden_size] float32.

        Steps t >= lengths[b] are masked out of attention and pooling. hparams:
        {"attention_dropout": float32 scalar}; key: PRNG key, used only when `train`.
        """
        batch, num_tokens, _ = xs.shape
        self.check(num_tokens)
        x = nn.Dense(self.hidden_size, name="project")(xs)  # [B, T, H]
        valid = valid_steps(lengths, num_tokens)  # [B, T]
        if self.pooling == "cls":
            cls = self.param("cls", nn.initializers.normal(0.02), (self.hidden_size,))  # [H]
            cls_step = jnp.broadcast_to(cls, (batch, 1, self.hidden_size))  # [B, 1, H]
            x = jnp.concatenate([cls_step, x], axis=1)  # [B, T + 1, H]
            valid = jnp.concatenate([jnp.ones((batch, 1), bool), valid], axis=1)  # [B, T + 1]
        num_steps = x.shape[1]
        positions = self.param(
            "positions", nn.initializers.normal(0.02), (self.max_positions, self.hidden_size)
        )  # [P, H]
        x = x + positions[None, :num_steps]  # [B, T, H]
        # Only keys are masked: a padding step's own output is never read.
        mask = nn.make_attention_mask(
            jnp.ones_like(valid), valid, pairwise_fn=jnp.logical_and, dtype=bool
        )  # [B, 1, T, T]
        rate = hparams["attention_dropout"]
        layer_keys = jax.random.split(key, self.num_layers) if train else [None] * self.num_layers
        for layer_key in layer_keys:
            x = EncoderBlock(self.num_heads, self.ff_size)(x, mask, rate, layer_key)  # [B, T, H]
        x = nn.LayerNorm(name="final_norm")(x)  # [B, T, H]
        if self.pooling == "cls":
            return x[:, 0]  # [B, H]
        total = jnp.where(valid[:, :, None], x, 0.0).sum(axis=1)  # [B, H]
        return total / jnp.maximum(lengths, 1)[:, None].astype(x.dtype)  # [B, H]

    def check(self, num_tokens):
        """Raise ValueError naming the field when the encoder cannot run with its values."""
        if self.num_heads < 1 or self.hidden_size % self.num_heads:
            raise ValueError(
                f"hidden_size={self.hidden_size} must be a multiple of "
                f"num_heads={self.num_heads} (a positive int)"
            )
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling={self.pooling!r} must be one of {', '.join(POOLINGS)}")
        num_steps = num_tokens + (self.pooling == "cls")
        if num_steps > self.max_positions:
            raise ValueError(
                f"max_positions={self.max_positions} is below the {num_steps} steps to encode "
                f"({num_tokens} tokens{' plus CLS' if self.pooling == 'cls' else ''}); "
                "raise it to at least that"
            )


class AttentionBiGRU(nn.Module):
    """Bidirectional GRU pooled by additive attention over valid steps, to [B, 2 * hidden_size]."""

    hidden_size: int = 64
    attention_size: int = 64

    dynamic_hparams = {"attention_dropout": 0.1}

    @nn.compact
    def __call__(self, xs, lengths, hparams, *, key=None, train=False):
        """xs: [B, T, E] float32, lengths: [B] int32 -> features [B, 2 * hidden_size] float32.

        Score s_t = v . tanh(W h_t + b), softmax over valid steps, features = sum_t a_t h_t.
        hparams: {"attention_dropout": float32 scalar}, dropout on a_t when `train`.
        """
        forward = nn.RNN(nn.GRUCell(self.hidden_size), name="forward")
        # seq_lengths makes the reverse pass flip only each row's valid steps, so it starts
        # at the last real token; padding stays at the end and is read last.
        backward = nn.RNN(
            nn.GRUCell(self.hidden_size), reverse=True, keep_order=True, name="backward"
        )
        hs = jnp.concatenate(
            [forward(xs, seq_lengths=lengths), backward(xs, seq_lengths=lengths)], axis=-1
        )  # [B, T, 2H]
        projected = jnp.tanh(nn.Dense(self.attention_size, name="attention")(hs))  # [B, T, A]
        scores = nn.Dense(1, use_bias=False, name="score")(projected)[..., 0]  # [B, T]
        weights = masked_softmax(scores, valid_steps(lengths, xs.shape[1]))  # [B, T]
        if train:
            weights = dropout(key, hparams["attention_dropout"], weights)  # [B, T]
        return jnp.einsum("bt,bth->bh", weights, hs)  # [B, 2H]
