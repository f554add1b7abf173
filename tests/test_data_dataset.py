"""data/dataset.py: the Split and TextDataset containers and the padded batch orders."""

import numpy as np
import pytest

from jaxtune.data.dataset import (
    PAD_ID,
    Split,
    TextDataset,
    epoch_batches,
    padded_batches,
    sequential_batches,
)


def split_of(lengths, width=5, labels=None):
    """A split whose example i holds tokens 10*i+1 .. 10*i+length, then PAD_ID."""
    lengths = np.asarray(lengths, np.int32)
    tokens = np.full((len(lengths), width), PAD_ID, np.int32)
    for i, length in enumerate(lengths):
        tokens[i, :length] = 10 * i + 1 + np.arange(length)
    labels = np.zeros(len(lengths), np.int32) if labels is None else np.asarray(labels, np.int32)
    return Split(tokens=tokens, lengths=lengths, labels=labels)


def test_split_reports_its_example_count_and_width():
    split = split_of([3, 1, 5, 2], width=5)
    assert len(split) == 4
    assert split.max_length == 5


@pytest.mark.parametrize(
    "lengths, labels",
    [
        (np.zeros(2, np.int32), np.zeros(3, np.int32)),
        (np.zeros(3, np.int32), np.zeros(2, np.int32)),
    ],
)
def test_split_refuses_lengths_or_labels_of_another_count(lengths, labels):
    with pytest.raises(AssertionError):
        Split(tokens=np.zeros((3, 4), np.int32), lengths=lengths, labels=labels)


def test_truncate_at_exactly_the_width_is_the_same_split():
    split = split_of([3, 5], width=5)
    assert split.truncate(5) is split


def test_truncate_keeps_shorter_lengths_and_every_label():
    split = split_of([1, 4, 5], width=5, labels=[2, 0, 1])
    cut = split.truncate(2)
    assert cut.max_length == 2 and len(cut) == 3
    np.testing.assert_array_equal(cut.lengths, np.minimum(split.lengths, 2))
    np.testing.assert_array_equal(cut.tokens, split.tokens[:, :2])
    np.testing.assert_array_equal(cut.labels, split.labels)
    # The original is left as it was (frozen, not cut in place).
    assert split.max_length == 5 and split.lengths.tolist() == [1, 4, 5]


def test_text_dataset_sizes_and_decode_stop_at_the_length():
    vocab = ("<pad>", "<unk>", "good", "bad", "plot")
    split = Split(
        tokens=np.array([[2, 4, 0, 0], [3, 1, 2, 0]], np.int32),
        lengths=np.array([2, 3], np.int32),
        labels=np.array([1, 0], np.int32),
    )
    dataset = TextDataset(
        name="tiny", train=split, val=split, test=split, vocab=vocab, label_names=("neg", "pos")
    )
    assert dataset.vocab_size == len(vocab)
    assert dataset.num_classes == 2
    assert dataset.decode(split.tokens[0], 2) == "good plot"
    assert dataset.decode(split.tokens[1], 3) == "bad <unk> good"
    assert dataset.decode(split.tokens[1], 1) == "bad"  # never past `length`
    assert vocab[PAD_ID] == "<pad>"


def test_padded_batches_keep_the_order_and_fill_the_last_batch_with_example_zero():
    order = np.array([7, 3, 9, 1, 4], np.int32)
    index, weight = padded_batches(order, 2)
    assert index.shape == weight.shape == (3, 2)
    assert index.dtype == np.int32 and weight.dtype == np.float32
    assert index.ravel()[:5].tolist() == order.tolist()
    assert weight.ravel().tolist() == [1, 1, 1, 1, 1, 0]
    assert index[-1, -1] == 0  # the padding reads example 0, at weight 0


def test_a_whole_number_of_batches_has_no_padding():
    index, weight = epoch_batches(12, 4, seed=0, epoch=0)
    assert index.shape == (3, 4)
    assert np.all(weight == 1)
    assert sorted(index.ravel().tolist()) == list(range(12))


def test_epoch_order_depends_on_the_seed_but_never_on_the_batch_size():
    # The same shuffled order, cut into batches of either size: every config of a sweep
    # sees the examples in one order whatever its batch size.
    small, small_weight = epoch_batches(30, 4, seed=1, epoch=0)
    large, large_weight = epoch_batches(30, 8, seed=1, epoch=0)
    assert small.ravel()[small_weight.ravel() > 0].tolist() == (
        large.ravel()[large_weight.ravel() > 0].tolist()
    )
    other, _ = epoch_batches(30, 4, seed=2, epoch=0)
    assert not np.array_equal(small, other)


def test_sequential_batches_pad_like_epoch_batches():
    index, weight = sequential_batches(5, 4)
    assert index.tolist() == [[0, 1, 2, 3], [4, 0, 0, 0]]
    assert weight.tolist() == [[1, 1, 1, 1], [1, 0, 0, 0]]
