"""Text CNN encoder: conv1d with several window sizes, ReLU, masked max-pool over time."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp


def unfold_windows(xs, width: int):
    """xs: [B, T, E] -> windows [B, T-width+1, width*E] (window w holds xs[:, w:w+width])."""
    num_windows = xs.shape[1] - width + 1
    shifted = [xs[:, offset : offset + num_windows] for offset in range(width)]  # width x [B, W, E]
    return jnp.concatenate(shifted, axis=-1)  # [B, W, width*E]


class CNNEncoder(nn.Module):
    """Each window size is one einsum over unfolded windows (a plain matmul that vmaps to a
    batched matmul over configs), then ReLU and a max over the windows inside each sequence."""

    filter_sizes: tuple[int, ...]
    num_filters: int

    @nn.compact
    def __call__(self, xs, lengths, *, dropout_rate, recurrent_dropout_rate, key, train):
        """xs: [B, T, E], lengths: [B] int32 -> [B, len(filter_sizes) * F]."""
        del dropout_rate, recurrent_dropout_rate, key, train  # dropout is on the output
        # Positions past a sequence's length read as zeros, whatever the batch pads them
        # with: a sequence shorter than a window pools a window that reaches past it, and
        # its features must not depend on the batch width (a length bucket's).
        inside = jnp.arange(xs.shape[1])[None, :] < lengths[:, None]  # [B, T]
        xs = jnp.where(inside[..., None], xs, 0.0)  # [B, T, E]
        pad = max(self.filter_sizes) - xs.shape[1]
        if pad > 0:  # sequences shorter than the widest window: pad time with zeros
            xs = jnp.pad(xs, ((0, 0), (0, pad), (0, 0)))
        embed_dim = xs.shape[-1]
        pooled = []
        for width in self.filter_sizes:
            kernel = self.param(
                f"conv{width}_kernel",
                nn.initializers.lecun_normal(),
                (width * embed_dim, self.num_filters),
            )
            bias = self.param(f"conv{width}_bias", nn.initializers.zeros, (self.num_filters,))
            windows = unfold_windows(xs, width)  # [B, W, width*E]
            features = jax.nn.relu(
                jnp.einsum("bwf,fn->bwn", windows, kernel) + bias[None, None, :]
            )  # [B, W, F]
            # A window is real if it starts inside the sequence and, for sequences at least
            # `width` long, ends inside it; shorter sequences keep their first window.
            num_valid = jnp.maximum(lengths - width + 1, 1)  # [B]
            valid = jnp.arange(features.shape[1])[None, :] < num_valid[:, None]  # [B, W]
            pooled.append(jnp.max(jnp.where(valid[..., None], features, -jnp.inf), axis=1))
        return jnp.concatenate(pooled, axis=-1)  # [B, len(filter_sizes) * F]
