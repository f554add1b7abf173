"""What each task trains on and counts, for ONE config: the training loss, the sums an
evaluation adds up over batches, and the validation metrics made from them.

classify: logits [B, C], labels [B]. tag: logits [B, T, C], labels [B, T], every real
token one unit. ctc: logits [B, T, C], labels [B, S] with label_lengths [B]; its edit
distances are added on the host (edit_distance.py) as the sum "edits".
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from jaxtune import ctc
from jaxtune.losses import classification_metrics, confusion_matrix, cross_entropy

# Evaluation outputs kept per example (stacked over batches, not summed): ctc's decodings.
STACKED = ("decoded", "decoded_lengths")


def token_weights(batch):
    """[B, T] float32: an example's weight at its real tokens, 0 after its length."""
    width = batch.tokens.shape[1]
    inside = jnp.arange(width)[None, :] < batch.lengths[:, None]  # [B, T]
    return inside * batch.weights[:, None]  # [B, T]


def train_loss(task: str, logits, batch, hparams, class_weights):
    """(mean loss, (units right, units)) of one config on a batch; a unit is an example
    (classify; ctc: decoded exactly) or a real token (tag)."""
    smoothing, gamma = hparams["label_smoothing"], hparams["focal_gamma"]
    if task == "classify":
        loss = cross_entropy(logits, batch.labels, batch.weights, smoothing, gamma, class_weights)
        right = (jnp.argmax(logits, axis=-1) == batch.labels) * batch.weights  # [B]
        return loss, (jnp.sum(right), jnp.sum(batch.weights))
    if task == "tag":
        weights = token_weights(batch)  # [B, T]
        num_classes = logits.shape[-1]
        flat = logits.reshape(-1, num_classes)  # [B * T, C]
        labels = batch.labels.reshape(-1)  # [B * T]
        loss = cross_entropy(flat, labels, weights.reshape(-1), smoothing, gamma, class_weights)
        right = (jnp.argmax(logits, axis=-1) == batch.labels) * weights  # [B, T]
        return loss, (jnp.sum(right), jnp.sum(weights))
    losses = ctc.sequence_losses(
        logits, batch.lengths, batch.labels, batch.label_lengths, smoothing, gamma
    )  # [B]
    loss = jnp.sum(losses * batch.weights) / jnp.maximum(jnp.sum(batch.weights), 1e-12)
    decoded, decoded_lengths = ctc.greedy_decode(jax.lax.stop_gradient(logits), batch.lengths)
    exact = ctc.exact_matches(decoded, decoded_lengths, batch.labels, batch.label_lengths)
    return loss, (jnp.sum(exact * batch.weights), jnp.sum(batch.weights))


def evaluation_sums(task: str, logits, batch):
    """What one batch adds to a config's evaluation (no smoothing, no focal term):
    ({name: sum}, {name: per-example output}); the second is empty but for ctc."""
    if task == "classify":
        losses = optax.softmax_cross_entropy_with_integer_labels(logits, batch.labels)  # [B]
        loss_sum = jnp.sum(jnp.where(batch.weights > 0, losses, 0.0))
        return {
            "loss_sum": loss_sum,
            "confusion": confusion_matrix(logits, batch.labels, batch.weights),
        }, {}
    sequences = jnp.sum(batch.weights)
    if task == "tag":
        weights = token_weights(batch)  # [B, T]
        losses = optax.softmax_cross_entropy_with_integer_labels(logits, batch.labels)  # [B, T]
        wrong = (jnp.argmax(logits, axis=-1) != batch.labels) & (weights > 0)  # [B, T]
        all_right = ~jnp.any(wrong, axis=1) & (batch.weights > 0)  # [B]
        num_classes = logits.shape[-1]
        confusion = confusion_matrix(
            logits.reshape(-1, num_classes), batch.labels.reshape(-1), weights.reshape(-1)
        )  # [C, C]
        return {
            "loss_sum": jnp.sum(jnp.where(weights > 0, losses, 0.0)),
            "confusion": confusion,
            "sequences": sequences,
            "sequences_right": jnp.sum(all_right),
        }, {}
    losses = ctc.sequence_losses(logits, batch.lengths, batch.labels, batch.label_lengths, 0.0, 0.0)
    decoded, decoded_lengths = ctc.greedy_decode(logits, batch.lengths)  # [B, T], [B]
    exact = ctc.exact_matches(decoded, decoded_lengths, batch.labels, batch.label_lengths)  # [B]
    real = batch.weights > 0  # [B]
    return {
        "loss_sum": jnp.sum(jnp.where(real, losses, 0.0)),
        "sequences": sequences,
        "sequences_right": jnp.sum(exact & real),
        "labels": jnp.sum(jnp.where(real, batch.label_lengths, 0)).astype(jnp.float32),
        "edits": jnp.zeros((), jnp.float32),  # the host adds them (edit_distance.py)
    }, {"decoded": decoded, "decoded_lengths": decoded_lengths}


def metrics(task: str, totals):
    """One config's validation metrics from its summed `totals` (evaluation_sums, over every
    batch): the task's metrics (tasks.py) and per_class_accuracy ([C]; [0] for ctc)."""
    if task == "classify":
        return classification_metrics(totals["loss_sum"], totals["confusion"])
    sequences = jnp.maximum(totals["sequences"], 1.0)
    sequence_accuracy = totals["sequences_right"] / sequences
    if task == "tag":
        tokens = classification_metrics(totals["loss_sum"], totals["confusion"])
        return {
            "loss": tokens["loss"],
            "token_accuracy": tokens["accuracy"],
            "sequence_accuracy": sequence_accuracy,
            "macro_f1": tokens["macro_f1"],
            "per_class_accuracy": tokens["per_class_accuracy"],
        }
    cer = totals["edits"] / jnp.maximum(totals["labels"], 1.0)
    return {
        "loss": totals["loss_sum"] / sequences,
        "char_accuracy": jnp.maximum(1.0 - cer, 0.0),
        "cer": cer,
        "sequence_accuracy": sequence_accuracy,
        "per_class_accuracy": jnp.zeros((0,), jnp.float32),
    }
