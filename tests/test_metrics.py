"""Losses, metrics and batching against hand computations."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxtune.data.dataset import epoch_batches, sequential_batches
from jaxtune.losses import classification_metrics, confusion_matrix, cross_entropy, macro_f1


def test_macro_f1_by_hand():
    # true \ predicted: class 0: 3 right, 1 as class 1; class 1: 2 right;
    # class 2: 1 predicted as class 0, never predicted right; class 3 absent everywhere.
    confusion = jnp.array([[3, 1, 0, 0], [0, 2, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]], jnp.float32)
    f1 = [2 * 3 / (2 * 3 + 1 + 1), 2 * 2 / (2 * 2 + 1 + 0), 0.0]  # class 3 does not count
    np.testing.assert_allclose(macro_f1(confusion), np.mean(f1), rtol=1e-6)
    metrics = classification_metrics(jnp.float32(14.0), confusion)
    np.testing.assert_allclose(metrics["accuracy"], 5 / 7, rtol=1e-6)
    np.testing.assert_allclose(metrics["loss"], 2.0, rtol=1e-6)


def test_confusion_matrix_ignores_zero_weight_examples():
    logits = jnp.array([[2.0, 0.0], [0.0, 1.0], [5.0, 0.0]])
    labels = jnp.array([0, 0, 1])
    confusion = confusion_matrix(logits, labels, jnp.array([1.0, 1.0, 0.0]))
    np.testing.assert_array_equal(confusion, [[1, 1], [0, 0]])


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.3])
def test_cross_entropy_with_label_smoothing_by_hand(smoothing):
    logits = np.array([[1.0, 2.0, 0.5], [0.1, -1.0, 3.0]], np.float32)
    labels = np.array([1, 0])
    weights = np.array([1.0, 3.0], np.float32)
    log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    target = np.full((2, 3), smoothing / 3)
    target[np.arange(2), labels] += 1 - smoothing
    expected = (-(target * log_p).sum(-1) * weights).sum() / weights.sum()
    got = cross_entropy(
        jnp.asarray(logits), jnp.asarray(labels), jnp.asarray(weights), jnp.float32(smoothing)
    )
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_epoch_batches_cover_every_example_once_and_are_seeded():
    index, weights = epoch_batches(103, 16, seed=5, epoch=2)
    assert index.shape == weights.shape == (7, 16)
    real = index[weights > 0]
    assert sorted(real.tolist()) == list(range(103))
    assert weights.sum() == 103
    again, _ = epoch_batches(103, 16, seed=5, epoch=2)
    np.testing.assert_array_equal(index, again)
    other, _ = epoch_batches(103, 16, seed=5, epoch=3)
    assert not np.array_equal(index, other)
    ordered, weights = sequential_batches(10, 4)
    assert ordered[weights > 0].tolist() == list(range(10))


@pytest.mark.parametrize("gamma", [0.5, 2.0])
def test_focal_loss_with_class_weights_by_hand(gamma):
    logits = np.array([[1.0, 2.0, 0.5], [0.1, -1.0, 3.0], [2.0, 0.0, 0.0]], np.float32)
    labels = np.array([1, 0, 2])
    weights = np.array([1.0, 3.0, 0.0], np.float32)  # the third is padding
    class_weights = (0.5, 2.0, 4.0)
    p = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    p_true = p[np.arange(3), labels]
    per_example = -((1 - p_true) ** gamma) * np.log(p_true)
    w = weights * np.array(class_weights)[labels]
    expected = (per_example * w).sum() / w.sum()
    got = cross_entropy(
        jnp.asarray(logits),
        jnp.asarray(labels),
        jnp.asarray(weights),
        jnp.float32(0.0),
        jnp.float32(gamma),
        class_weights,
    )
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_focal_gamma_zero_is_exactly_cross_entropy_and_gradients_stay_finite():
    logits = jnp.array([[40.0, -40.0, 0.0], [0.1, 0.2, 0.3]])  # p_true == 1.0 in float32
    labels, weights = jnp.array([0, 2]), jnp.ones(2)

    def loss(logits, gamma):
        return cross_entropy(logits, labels, weights, jnp.float32(0.1), gamma)

    plain = cross_entropy(logits, labels, weights, jnp.float32(0.1))
    assert float(loss(logits, jnp.float32(0.0))) == float(plain)
    for gamma in (0.0, 0.5, 2.0):
        grads = jax.grad(loss)(logits, jnp.float32(gamma))
        assert np.isfinite(np.asarray(grads)).all(), gamma


def test_per_class_accuracy_is_recall_and_nan_for_absent_classes():
    confusion = jnp.array([[3, 1, 0], [0, 2, 0], [0, 0, 0]], jnp.float32)
    got = np.asarray(classification_metrics(jnp.float32(0.0), confusion)["per_class_accuracy"])
    np.testing.assert_allclose(got[:2], [0.75, 1.0])
    assert np.isnan(got[2])
