"""CTC and tagging for one config: the loss against a brute-force sum over alignments,
greedy decoding, exact match, edit distances, and padding that changes nothing."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxtune import ctc
from jaxtune.edit_distance import edit_sums
from jaxtune.population import objectives
from jaxtune.population.step import Batch

NO_SHAPING = {"label_smoothing": 0.0, "focal_gamma": 0.0}


def collapse(path):
    """A CTC path's labelling: repeats merged, then blanks dropped."""
    return [label for label, _ in itertools.groupby(path) if label != ctc.BLANK]


def brute_force_nll(logits, length, labels):
    """-log of the summed probability of every path of `length` steps that reads `labels`."""
    log_p = np.asarray(jax.nn.log_softmax(logits[:length]), np.float64)  # [T, C]
    total = 0.0
    for path in itertools.product(range(log_p.shape[1]), repeat=length):
        if collapse(path) == list(labels):
            total += np.exp(sum(log_p[t, c] for t, c in enumerate(path)))
    return -np.log(total)


@pytest.mark.parametrize(
    "labels, length", [([1, 2], 4), ([1, 1], 4), ([2], 3), ([1, 2, 1], 5), ([1, 1], 3)]
)
def test_ctc_loss_is_the_negative_log_of_the_sum_over_all_alignments(labels, length):
    logits = jax.random.normal(jax.random.key(len(labels) * 7 + length), (6, 3))  # [T, C]
    padded = np.zeros(4, np.int32)
    padded[: len(labels)] = labels
    loss = ctc.sequence_losses(
        logits[None],
        jnp.array([length]),
        jnp.array(padded[None]),
        jnp.array([len(labels)]),
        0.0,
        0.0,
    )  # [1]: per label
    expected = brute_force_nll(np.asarray(logits), length, labels) / len(labels)
    np.testing.assert_allclose(float(loss[0]), expected, rtol=2e-4)


def test_smoothing_and_focal_terms_change_the_loss_only_when_set():
    logits = jax.random.normal(jax.random.key(0), (2, 6, 4))
    args = (logits, jnp.array([6, 4]), jnp.array([[1, 2, 3], [3, 0, 0]]), jnp.array([3, 1]))
    plain = ctc.sequence_losses(*args, 0.0, 0.0)
    smoothed = ctc.sequence_losses(*args, 0.2, 0.0)
    focal = ctc.sequence_losses(*args, 0.0, 2.0)
    assert np.all(np.abs(np.asarray(smoothed - plain)) > 1e-4)
    # The focal factor (1 - p)^gamma is below 1: it lowers every sequence's loss.
    assert np.all(np.asarray(focal) < np.asarray(plain))


def test_greedy_decoding_collapses_repeats_drops_blanks_and_stops_at_the_length():
    best = np.array(
        [
            [1, 1, 0, 1, 2, 2, 0, 3],  # length 7: 1 (1) _ 1 2 (2) _ -> 1 1 2; the 3 is padding
            [0, 0, 0, 0, 0, 0, 0, 0],  # only blanks
            [3, 0, 3, 3, 2, 1, 1, 2],  # length 8
        ]
    )
    logits = jax.nn.one_hot(best, 4) * 5.0  # [B, T, C]
    decoded, lengths = ctc.greedy_decode(logits, jnp.array([7, 8, 8]))
    assert np.asarray(lengths).tolist() == [3, 0, 5]
    assert np.asarray(decoded).tolist() == [
        [1, 1, 2, 0, 0, 0, 0, 0],
        [0] * 8,
        [3, 3, 2, 1, 2, 0, 0, 0],
    ]


def test_exact_match_needs_equal_length_and_labels():
    decoded = jnp.array([[1, 2, 0, 0], [1, 2, 0, 0], [1, 2, 3, 0], [2, 2, 0, 0]])
    lengths = jnp.array([2, 2, 3, 2])
    labels = jnp.array([[1, 2, 0], [1, 2, 3], [1, 2, 0], [1, 2, 0]])
    label_lengths = jnp.array([2, 3, 2, 2])
    same = ctc.exact_matches(decoded, lengths, labels, label_lengths)
    assert np.asarray(same).tolist() == [True, False, False, False]


def test_edit_sums_add_each_configs_levenshtein_distances_over_real_examples():
    labels = np.array([[1, 2, 3], [4, 0, 0], [5, 5, 0]], np.int32)
    label_lengths = np.array([3, 1, 2])
    # Two configs, one batch of 4 slots: examples 0, 2, 1 and a padding slot.
    index = np.array([[0, 2, 1, 0]])
    weights = np.array([[1.0, 1.0, 1.0, 0.0]])
    decoded = np.zeros((2, 1, 4, 5), np.int32)
    lengths = np.zeros((2, 1, 4), np.int32)
    decoded[0, 0, 0, :2], lengths[0, 0, 0] = [1, 3], 2  # one deletion
    decoded[0, 0, 1, :2], lengths[0, 0, 1] = [5, 5], 2  # exact
    decoded[0, 0, 2, :3], lengths[0, 0, 2] = [4, 4, 4], 3  # two insertions
    decoded[0, 0, 3, :5], lengths[0, 0, 3] = [9, 9, 9, 9, 9], 5  # padding: not counted
    decoded[1, 0, 0, :3], lengths[1, 0, 0] = [1, 2, 3], 3
    decoded[1, 0, 1, :1], lengths[1, 0, 1] = [6], 1  # a substitution and a deletion
    decoded[1, 0, 2, :1], lengths[1, 0, 2] = [4], 1
    sums = edit_sums(decoded, lengths, labels, label_lengths, index, weights)
    assert sums.tolist() == [3.0, 2.0]
    wanted = edit_sums(decoded, lengths, labels, label_lengths, index, weights, np.array([0, 1]))
    assert wanted.tolist() == [0.0, 2.0]


def test_ctc_metrics_are_the_character_error_rate_and_its_clipped_complement():
    totals = {
        "loss_sum": jnp.float32(6.0),
        "sequences": jnp.float32(3.0),
        "sequences_right": jnp.float32(1.0),
        "labels": jnp.float32(10.0),
        "edits": jnp.float32(4.0),
    }
    values = objectives.metrics("ctc", totals)
    assert float(values["cer"]) == pytest.approx(0.4)
    assert float(values["char_accuracy"]) == pytest.approx(0.6)
    assert float(values["sequence_accuracy"]) == pytest.approx(1 / 3)
    assert float(values["loss"]) == pytest.approx(2.0)
    worse = objectives.metrics("ctc", {**totals, "edits": jnp.float32(13.0)})
    assert float(worse["cer"]) == pytest.approx(1.3)
    assert float(worse["char_accuracy"]) == 0.0  # clipped at 0


def _batch(task, logits_key):
    tokens = jnp.array([[3, 4, 5, 6, 0, 0], [7, 8, 0, 0, 0, 0]])
    lengths = jnp.array([4, 2])
    weights = jnp.array([1.0, 1.0])
    if task == "tag":
        labels = jnp.array([[0, 1, 1, 0, 0, 0], [1, 1, 0, 0, 0, 0]])
        batch = Batch(tokens, lengths, labels, weights)
    else:
        batch = Batch(tokens, lengths, jnp.array([[1, 2], [2, 0]]), weights, jnp.array([2, 1]))
    logits = jax.random.normal(jax.random.key(logits_key), (2, 6, 3))
    return batch, logits


@pytest.mark.parametrize("task", ["tag", "ctc"])
def test_padded_steps_change_neither_loss_nor_metrics(task):
    batch, logits = _batch(task, 0)
    inside = (jnp.arange(6)[None, :] < batch.lengths[:, None])[..., None]  # [B, T, 1]
    noisy = jnp.where(inside, logits, 50.0 * jax.random.normal(jax.random.key(9), logits.shape))
    hparams = NO_SHAPING
    for smoothing in (0.0, 0.1):
        hparams = {"label_smoothing": smoothing, "focal_gamma": 0.0}
        clean_loss = objectives.train_loss(task, logits, batch, hparams, None)
        noisy_loss = objectives.train_loss(task, noisy, batch, hparams, None)
        jax.tree.map(np.testing.assert_allclose, clean_loss, noisy_loss)
    clean_sums, clean_out = objectives.evaluation_sums(task, logits, batch)
    noisy_sums, noisy_out = objectives.evaluation_sums(task, noisy, batch)
    jax.tree.map(np.testing.assert_allclose, clean_sums, noisy_sums)
    jax.tree.map(np.testing.assert_array_equal, clean_out, noisy_out)


def test_tagging_counts_tokens_and_whole_sequences():
    batch, _ = _batch("tag", 0)
    right = jax.nn.one_hot(batch.labels, 3) * 5.0  # [B, T, C]: every token right
    wrong_one = right.at[0, 2].set(jax.nn.one_hot(2, 3) * 5.0)  # one token of sequence 0 wrong
    sums, _ = objectives.evaluation_sums("tag", wrong_one, batch)
    values = objectives.metrics("tag", sums)
    assert float(sums["sequences"]) == 2.0
    assert float(values["token_accuracy"]) == pytest.approx(5 / 6)  # 6 real tokens
    assert float(values["sequence_accuracy"]) == pytest.approx(0.5)
    _, (correct, count) = objectives.train_loss("tag", wrong_one, batch, NO_SHAPING, None)
    assert (float(correct), float(count)) == (5.0, 6.0)
