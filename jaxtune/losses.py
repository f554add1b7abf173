"""Losses and classification metrics for one config (weighted, so padded examples count zero)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax


def cross_entropy(logits, labels, weights, label_smoothing):
    """Weighted mean softmax cross-entropy with label smoothing.

    logits: [B, C], labels: [B] int32, weights: [B] float32, label_smoothing: scalar.
    """
    num_classes = logits.shape[-1]
    targets = jax.nn.one_hot(labels, num_classes)  # [B, C]
    targets = targets * (1.0 - label_smoothing) + label_smoothing / num_classes
    per_example = optax.softmax_cross_entropy(logits, targets)  # [B]
    return jnp.sum(per_example * weights) / jnp.maximum(jnp.sum(weights), 1.0)


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


def classification_metrics(loss_sum, confusion):
    """Loss, accuracy and macro-F1 from a summed loss and a [C, C] confusion matrix."""
    count = jnp.sum(confusion)
    return {
        "loss": loss_sum / jnp.maximum(count, 1.0),
        "accuracy": jnp.trace(confusion) / jnp.maximum(count, 1.0),
        "macro_f1": macro_f1(confusion),
    }
