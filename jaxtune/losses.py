"""Losses and classification metrics for one config (weighted, so padded examples count zero)."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def cross_entropy(logits, labels, weights, label_smoothing, focal_gamma=0.0, class_weights=None):
    """Weighted mean softmax cross-entropy with label smoothing and an optional focal term.

    logits: [B, C], labels: [B] int32, weights: [B] float32 (0 for padding examples),
    label_smoothing and focal_gamma: scalars (may be traced), class_weights: [C] or None.

    The focal loss (Lin et al. 2017) scales each class's log-loss by (1 - p_c)^gamma, so
    confident examples count less; gamma = 0 is exactly the cross-entropy. Class weights
    scale each example by its true class's weight and the mean is over those weights
    (as PyTorch's `CrossEntropyLoss(weight=...)`).
    """
    num_classes = logits.shape[-1]
    targets = jax.nn.one_hot(labels, num_classes)  # [B, C]
    targets = targets * (1.0 - label_smoothing) + label_smoothing / num_classes
    log_p = jax.nn.log_softmax(logits)  # [B, C]
    # (1 - p)^gamma, with 1 - p kept above 0 so the power's gradient stays finite; gamma = 0
    # gives exactly 1.
    focus = jnp.maximum(-jnp.expm1(log_p), 1e-12) ** focal_gamma  # [B, C]
    per_example = -jnp.sum(targets * focus * log_p, axis=-1)  # [B]
    if class_weights is not None:
        weights = weights * jnp.asarray(class_weights, logits.dtype)[labels]
    return jnp.sum(per_example * weights) / jnp.maximum(jnp.sum(weights), 1e-12)


def confusion_matrix(logits, labels, weights):
    """[C, C] weighted counts: row = true class, column = predicted class."""
    num_classes = logits.shape[-1]
    truth = jax.nn.one_hot(labels, num_classes) * weights[:, None]  # [B, C]
    predicted = jax.nn.one_hot(jnp.argmax(logits, axis=-1), num_classes)  # [B, C]
    return truth.T @ predicted  # [C, C]


def macro_f1(confusion):
    """Unweighted mean of per-class F1 over classes that occur in the labels or predictions.

    confusion: [C, C] (true, predicted). A class never seen and never predicted does not
    count; a seen class never predicted correctly has F1 0 (scikit-learn's convention).
    """
    true_positive = jnp.diagonal(confusion)  # [C]
    support = jnp.sum(confusion, axis=1)  # [C]
    predicted = jnp.sum(confusion, axis=0)  # [C]
    denominator = support + predicted  # 2TP + FP + FN
    f1 = jnp.where(denominator > 0, 2.0 * true_positive / jnp.maximum(denominator, 1e-12), 0.0)
    present = denominator > 0
    return jnp.sum(f1) / jnp.maximum(jnp.sum(present), 1)


def per_class_accuracy(confusion):
    """[C] recall of each class (correct / examples of that class); nan for an absent class."""
    support = jnp.sum(confusion, axis=1)
    return jnp.where(support > 0, jnp.diagonal(confusion) / jnp.maximum(support, 1e-12), jnp.nan)


def classification_metrics(loss_sum, confusion):
    """Loss, accuracy, macro-F1 and per-class accuracy from a summed loss and [C, C] confusion."""
    count = jnp.sum(confusion)
    return {
        "loss": loss_sum / jnp.maximum(count, 1.0),
        "accuracy": jnp.trace(confusion) / jnp.maximum(count, 1.0),
        "macro_f1": macro_f1(confusion),
        "per_class_accuracy": per_class_accuracy(confusion),
    }
