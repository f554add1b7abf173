"""CTC for one config: the loss (optax's, with label smoothing and a focal term), greedy
decoding on the device, and exact-match counting. Label id 0 is the blank.

The edit distance of decoded sequences (for the character error rate) is computed on the
host from what `greedy_decode` returns (edit_distance.py).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

BLANK = 0


def paddings(lengths, width: int):
    """lengths: [B] int32 -> [B, width] float32, 1.0 at padded steps (optax's convention)."""
    return (jnp.arange(width)[None, :] >= lengths[:, None]).astype(jnp.float32)


def sequence_losses(logits, lengths, labels, label_lengths, label_smoothing, focal_gamma):
    """Per-sequence CTC loss, each divided by its label count (PyTorch's `reduction="mean"`
    before the batch mean). -> [B] float32.

    logits: [B, T, C], lengths: [B] int32, labels: [B, S] int32 (0 after label_lengths),
    label_lengths: [B] int32; label_smoothing and focal_gamma: scalars (may be traced).

    float32 CTC can come out slightly negative, and a target that cannot fit its input
    gives a huge finite loss (~1e5, optax's log_epsilon): the data loader refuses those.
    Label smoothing mixes in the cross-entropy of each real step against the uniform
    distribution (a confidence penalty, as CTC label smoothing is usually written); the
    focal term scales a sequence's loss by (1 - p(y|x))^gamma (focal CTC, Feng et al.
    2019). Both are exactly plain CTC at 0.
    """
    log_p = jax.nn.log_softmax(logits)  # [B, T, C]
    step_pad = paddings(lengths, logits.shape[1])  # [B, T]
    label_pad = paddings(label_lengths, labels.shape[1])  # [B, S]
    nll = optax.ctc_loss(logits, step_pad, labels, label_pad, blank_id=BLANK)  # [B]
    # (1 - p)^gamma with p = exp(-nll); kept above 0 so the power's gradient stays finite.
    focus = jnp.maximum(-jnp.expm1(-jnp.maximum(nll, 0.0)), 1e-12) ** focal_gamma  # [B]
    uniform = -jnp.mean(log_p, axis=-1)  # [B, T]: cross-entropy to the uniform distribution
    steps = jnp.maximum(lengths, 1).astype(logits.dtype)  # [B]
    smooth = jnp.sum(uniform * (1.0 - step_pad), axis=-1) / steps  # [B]
    per_label = jnp.maximum(label_lengths, 1).astype(logits.dtype)  # [B]
    return (1.0 - label_smoothing) * focus * nll / per_label + label_smoothing * smooth


def greedy_decode(logits, lengths):
    """Best path: the argmax at every real step, repeats collapsed, blanks dropped.

    logits: [B, T, C], lengths: [B] int32 -> (decoded [B, T] int32, left-aligned and 0
    after each length; decoded_lengths [B] int32).
    """
    best = jnp.argmax(logits, axis=-1).astype(jnp.int32)  # [B, T]
    previous = jnp.pad(best[:, :-1], ((0, 0), (1, 0)), constant_values=BLANK)  # [B, T]
    real = jnp.arange(best.shape[1])[None, :] < lengths[:, None]  # [B, T]
    keep = real & (best != BLANK) & (best != previous)  # [B, T]
    position = jnp.cumsum(keep, axis=1) - 1  # [B, T]: each kept label's place in the output
    # Dropped steps write to an extra column, cut off after the scatter.
    target = jnp.where(keep, position, best.shape[1])  # [B, T]
    rows = jnp.arange(best.shape[0])[:, None]  # [B, 1]
    decoded = jnp.zeros((best.shape[0], best.shape[1] + 1), jnp.int32)
    decoded = decoded.at[rows, target].set(best)[:, :-1]  # [B, T]
    return decoded, jnp.sum(keep, axis=1).astype(jnp.int32)


def exact_matches(decoded, decoded_lengths, labels, label_lengths):
    """[B] bool: the decoded sequence equals the target. decoded: [B, T], labels: [B, S]."""
    width = max(decoded.shape[1], labels.shape[1])
    decoded = jnp.pad(decoded, ((0, 0), (0, width - decoded.shape[1])))  # [B, W]
    labels = jnp.pad(labels, ((0, 0), (0, width - labels.shape[1])))  # [B, W]
    inside = jnp.arange(width)[None, :] < label_lengths[:, None]  # [B, W]
    same = jnp.all((decoded == labels) | ~inside, axis=1)  # [B]
    return same & (decoded_lengths == label_lengths)
