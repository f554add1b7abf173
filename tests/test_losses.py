"""losses.py against hand computations: focal loss with label smoothing, class weights,
gradients, and metrics from a confusion matrix. (Plain smoothing and focal loss with class
weights alone: test_metrics.py.)"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxtune.losses import classification_metrics, confusion_matrix, cross_entropy, macro_f1

C = 4
RNG = np.random.default_rng(0)
LOGITS = RNG.normal(size=(6, C)).astype(np.float32) * 2
LABELS = np.array([0, 3, 1, 1, 2, 3], np.int32)
WEIGHTS = np.array([1.0, 0.5, 2.0, 0.0, 1.0, 1.0], np.float32)  # the fourth is padding
CLASS_WEIGHTS = np.array([1.0, 3.0, 0.5, 2.0], np.float32)


@functools.partial(jax.jit, static_argnames="weighted")
def loss_of(logits, labels, weights, smoothing, gamma, class_weights, weighted=True):
    return cross_entropy(
        logits, labels, weights, smoothing, gamma, class_weights if weighted else None
    )


def numpy_loss(smoothing, gamma, class_weights=None):
    """-sum_c t_c (1 - p_c)^gamma log p_c per example, t the smoothed one-hot target."""
    shifted = LOGITS - LOGITS.max(-1, keepdims=True)
    p = np.exp(shifted) / np.exp(shifted).sum(-1, keepdims=True)
    targets = np.full((len(LABELS), C), smoothing / C)
    targets[np.arange(len(LABELS)), LABELS] += 1 - smoothing
    per_example = -(targets * (1 - p) ** gamma * np.log(p)).sum(-1)
    w = WEIGHTS * (1.0 if class_weights is None else class_weights[LABELS])
    return (per_example * w).sum() / w.sum()


@pytest.mark.parametrize("smoothing,gamma", [(0.1, 2.0), (0.3, 0.5), (0.2, 0.0)])
@pytest.mark.parametrize("weighted", [False, True], ids=["plain", "class-weights"])
def test_focal_loss_with_label_smoothing_by_hand(smoothing, gamma, weighted):
    """The focal term scales every class's term of the smoothed target, not only the true one."""
    got = loss_of(
        LOGITS, LABELS, WEIGHTS, np.float32(smoothing), np.float32(gamma), CLASS_WEIGHTS, weighted
    )
    expected = numpy_loss(smoothing, gamma, CLASS_WEIGHTS if weighted else None)
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_gradient_is_weighted_softmax_minus_smoothed_targets():
    smoothing = 0.2
    grad = jax.jit(jax.grad(loss_of))(
        LOGITS, LABELS, WEIGHTS, np.float32(smoothing), np.float32(0.0), CLASS_WEIGHTS
    )
    p = np.exp(LOGITS) / np.exp(LOGITS).sum(-1, keepdims=True)
    targets = np.full((len(LABELS), C), smoothing / C)
    targets[np.arange(len(LABELS)), LABELS] += 1 - smoothing
    w = WEIGHTS * CLASS_WEIGHTS[LABELS]
    np.testing.assert_allclose(grad, (w / w.sum())[:, None] * (p - targets), atol=1e-6)
    np.testing.assert_array_equal(grad[3], 0.0)  # a padding example gets no gradient


def test_all_padding_batch_has_zero_loss_not_nan():
    got = loss_of(
        LOGITS, LABELS, np.zeros_like(WEIGHTS), np.float32(0.1), np.float32(2.0), CLASS_WEIGHTS
    )
    assert float(got) == 0.0


def test_traced_settings_vmap_over_configs_and_never_recompile(compile_counter):
    """Written for one config: K settings are one vmapped call, and new values reuse it."""
    population_loss = jax.jit(jax.vmap(cross_entropy, in_axes=(None, None, None, 0, 0, None)))
    settings = [(0.0, 0.0), (0.1, 2.0), (0.3, 1.0)]
    smoothing, gamma = (np.float32(column) for column in zip(*settings, strict=True))
    got = population_loss(LOGITS, LABELS, WEIGHTS, smoothing, gamma, CLASS_WEIGHTS)
    for k, (s, g) in enumerate(settings):
        np.testing.assert_allclose(got[k], numpy_loss(s, g, CLASS_WEIGHTS), rtol=1e-5)
    compiled = len(compile_counter)
    population_loss(LOGITS, LABELS, WEIGHTS, smoothing + 0.05, gamma + 0.5, CLASS_WEIGHTS)
    assert compiled >= 1 and len(compile_counter) == compiled


def test_confusion_matrix_sums_example_weights_by_true_row_and_predicted_column():
    logits = np.eye(C, dtype=np.float32)[[1, 1, 0, 3, 2]]  # predicted: 1, 1, 0, 3, 2
    labels = np.array([1, 0, 0, 3, 3], np.int32)
    weights = np.array([0.5, 2.0, 1.0, 0.25, 0.0], np.float32)
    expected = np.zeros((C, C))
    for label, predicted, weight in zip(labels, [1, 1, 0, 3, 2], weights, strict=True):
        expected[label, predicted] += weight
    np.testing.assert_allclose(jax.jit(confusion_matrix)(logits, labels, weights), expected)


def numpy_macro_f1(labels, predicted):
    """scikit-learn's macro F1: classes in either labels or predictions, 0 where undefined."""
    scores = []
    for c in np.union1d(labels, predicted):
        tp = np.sum((labels == c) & (predicted == c))
        fp = np.sum((labels != c) & (predicted == c))
        fn = np.sum((labels == c) & (predicted != c))
        scores.append(2 * tp / (2 * tp + fp + fn))
    return np.mean(scores)


def test_macro_f1_of_random_predictions_matches_its_definition():
    confusion_of = jax.jit(lambda logits, labels: confusion_matrix(logits, labels, jnp.ones(40)))
    f1_of = jax.jit(macro_f1)
    for seed in range(3):
        rng = np.random.default_rng(seed)
        labels = rng.integers(0, C - 1, 40).astype(np.int32)  # class 3 never true...
        predicted = rng.integers(0, C, 40)  # ...but predicted: it counts, with F1 0
        logits = np.eye(C, dtype=np.float32)[predicted]
        got = f1_of(confusion_of(logits, labels))
        np.testing.assert_allclose(got, numpy_macro_f1(labels, predicted), rtol=1e-6)


def test_metrics_of_an_empty_confusion_are_zero_not_nan():
    metrics = jax.jit(classification_metrics)(jnp.float32(0.0), jnp.zeros((C, C)))
    assert float(metrics["loss"]) == float(metrics["accuracy"]) == 0.0
    assert float(metrics["macro_f1"]) == 0.0
    assert np.isnan(np.asarray(metrics["per_class_accuracy"])).all()
