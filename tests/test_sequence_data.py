"""Data for tasks tag and ctc: the parity and readout datasets, ctc_feasible, Split.truncate."""

import dataclasses

import numpy as np
import pytest

from jaxtune.data.dataset import PAD_ID, Split
from jaxtune.data.sequences import BLANK, ctc_feasible, repeats
from jaxtune.data.sources import load_dataset
from jaxtune.data.synthetic import SyntheticConfig
from jaxtune.data.synthetic_sequences import (
    DIGITS,
    LONGEST_INPUT,
    PARITY_FILLERS,
    READOUT_FILLERS,
    RETRACT,
    TARGET_LENGTHS,
    make_parity,
    make_readout,
)
from jaxtune.spec.data import DataSpec

SMALL = SyntheticConfig(train_size=400, val_size=50, test_size=50, min_length=8, max_length=24)
READOUT = SyntheticConfig(train_size=400, val_size=50, test_size=50, min_length=6, max_length=32)


def words_of(dataset, split, i):
    return [dataset.vocab[t] for t in split.tokens[i, : split.lengths[i]]]


def target_of(dataset, split, i):
    return [dataset.label_names[t] for t in split.labels[i, : split.label_lengths[i]]]


@pytest.mark.parametrize("make, config", [(make_parity, SMALL), (make_readout, READOUT)])
def test_same_config_same_bytes_other_seed_other_data(make, config):
    a, b = make(config), make(config)
    other = make(dataclasses.replace(config, seed=1))
    for name in ("train", "val", "test"):
        for field in ("tokens", "lengths", "labels", "label_lengths"):
            first, second = getattr(getattr(a, name), field), getattr(getattr(b, name), field)
            if first is None:
                assert second is None
                continue
            np.testing.assert_array_equal(first, second)
    assert not np.array_equal(a.train.tokens, other.train.tokens)
    assert not np.array_equal(a.train.labels, other.train.labels)


def test_parity_tags_are_the_running_parity_of_the_odd_digits():
    data = make_parity(SMALL)
    assert (data.name, data.task, data.label_names) == ("parity", "tag", ("even", "odd"))
    split = data.train
    assert split.labels.shape == split.tokens.shape == (400, 24)
    assert split.lengths.min() >= 8 and split.lengths.max() <= 24
    fillers_seen = 0
    for i in range(len(split)):
        odd_digits = 0
        for t, word in enumerate(words_of(data, split, i)):
            if word in PARITY_FILLERS:
                fillers_seen += 1
            else:
                odd_digits += int(word) % 2
            assert data.label_names[split.labels[i, t]] == ("even", "odd")[odd_digits % 2]
    assert fillers_seen > 0
    padding = np.arange(24)[None] >= split.lengths[:, None]
    assert np.all(split.tokens[padding] == PAD_ID) and np.all(split.labels[padding] == 0)


def test_parity_label_noise_replaces_about_the_asked_fraction_of_tags():
    clean = make_parity(SMALL)
    noisy = make_parity(dataclasses.replace(SMALL, label_noise=0.2))
    np.testing.assert_array_equal(clean.train.tokens, noisy.train.tokens)
    real = np.arange(24)[None] < clean.train.lengths[:, None]
    changed = (clean.train.labels != noisy.train.labels)[real].mean()
    assert 0.07 < changed < 0.13  # a random tag of two: half the replaced tags change
    assert np.all(noisy.train.labels[~real] == 0)


def collapse_readout(words):
    """The readout rule, restated: a digit followed by "no" is taken back (the pair parts
    runs as a filler does), then runs of one token merge and the filler words drop."""
    kept = []
    for j, word in enumerate(words):
        if word == RETRACT:
            continue
        retracted = j + 1 < len(words) and words[j + 1] == RETRACT
        kept.append(READOUT_FILLERS[0] if retracted else word)
    merged = [word for j, word in enumerate(kept) if j == 0 or word != kept[j - 1]]
    return [word for word in merged if word not in READOUT_FILLERS]


def test_readout_targets_are_the_inputs_with_runs_merged_and_fillers_dropped():
    data = make_readout(READOUT)
    assert (data.name, data.task) == ("readout", "ctc")
    assert data.label_names == (BLANK, *DIGITS) and data.num_classes == 11
    for split in (data.train, data.val, data.test):
        assert split.labels.shape == (len(split), TARGET_LENGTHS[1])
        assert split.lengths.min() >= 6 and split.lengths.max() <= 32
        assert split.label_lengths.min() >= TARGET_LENGTHS[0]
        assert split.label_lengths.max() <= TARGET_LENGTHS[1]
        assert np.all(ctc_feasible(split.label_lengths, split.labels, split.lengths))
        assert np.all(split.labels[np.arange(10)[None] >= split.label_lengths[:, None]] == 0)
        assert np.all(split.labels[np.arange(10)[None] < split.label_lengths[:, None]] > 0)
        for i in range(len(split)):
            words = words_of(data, split, i)
            assert collapse_readout(words) == target_of(data, split, i)
    retracting = np.mean([RETRACT in words_of(data, data.train, i) for i in range(400)])
    assert 0.2 < retracting < 0.8  # some inputs take a digit back, most keep every one
    longer = (data.train.lengths > data.train.label_lengths).mean()
    assert longer > 0.9  # repeats and fillers: inputs are longer than their targets
    assert np.any(repeats(data.train.label_lengths, data.train.labels) > 0)


@pytest.mark.parametrize("length, digits", [(3, 3), (LONGEST_INPUT, 10)])
def test_readout_inputs_fill_tight_length_bounds(length, digits):
    data = make_readout(
        SyntheticConfig(
            train_size=50, val_size=5, test_size=5, min_length=length, max_length=length
        )
    )
    assert np.all(data.train.lengths == length)
    assert np.all(data.train.label_lengths == digits)
    assert np.all(ctc_feasible(data.train.label_lengths, data.train.labels, data.train.lengths))


def test_readout_refuses_label_noise_and_impossible_lengths():
    with pytest.raises(ValueError, match="^data.label_noise: not used by task ctc"):
        make_readout(SyntheticConfig(label_noise=0.1))
    with pytest.raises(ValueError, match="^data.min_length: 49 is above 48"):
        make_readout(SyntheticConfig(min_length=49, max_length=60))


@pytest.mark.parametrize(
    "target, steps",
    [("aa", 3), ("ab", 2), ("aba", 3), ("aab", 4), ("aaa", 5), ("a", 1), ("abba", 5)],
)
def test_ctc_feasible_needs_a_blank_between_repeated_labels(target, steps):
    ids = np.array([[ord(c) for c in target] + [7, 7]])  # the padding after the length repeats
    label_lengths = np.array([len(target)])
    assert ctc_feasible(label_lengths, ids, np.array([steps])).tolist() == [True]
    assert ctc_feasible(label_lengths, ids, np.array([steps - 1])).tolist() == [False]


def test_truncate_cuts_tags_with_the_tokens_and_keeps_ctc_targets_whole():
    tokens = np.arange(1, 13, dtype=np.int32).reshape(2, 6)
    lengths = np.array([6, 3], np.int32)
    tags = np.array([[1, 0, 1, 1, 0, 1], [1, 1, 0, 0, 0, 0]], np.int32)
    tag_split = Split(tokens=tokens, lengths=lengths, labels=tags).truncate(4)
    np.testing.assert_array_equal(tag_split.labels, tags[:, :4])
    assert tag_split.lengths.tolist() == [4, 3] and tag_split.label_lengths is None
    targets = np.array([[2, 3, 0], [4, 0, 0]], np.int32)
    ctc = Split(tokens, lengths, targets, label_lengths=np.array([2, 1], np.int32)).truncate(4)
    assert ctc.tokens.shape == (2, 4) and ctc.lengths.tolist() == [4, 3]
    np.testing.assert_array_equal(ctc.labels, targets)
    assert ctc.label_lengths.tolist() == [2, 1]


def test_split_refuses_tags_of_another_width():
    tokens = np.zeros((2, 6), np.int32)
    with pytest.raises(AssertionError):
        Split(tokens=tokens, lengths=np.ones(2, np.int32), labels=np.zeros((2, 5), np.int32))


@pytest.mark.parametrize(
    "task, name, counted", [("tag", "parity", ("even", "odd")), ("ctc", "readout", DIGITS)]
)
def test_load_dataset_gives_each_task_its_synthetic_dataset(task, name, counted):
    spec = DataSpec(task=task, synthetic=SyntheticConfig(train_size=200, val_size=20, test_size=20))
    dataset, report = load_dataset(spec)
    assert dataset.task == task and dataset.name == report.name == name
    assert report.sizes == {"train": 200, "val": 20, "test": 20}
    train = dataset.train
    if task == "tag":
        assert sum(report.label_counts["train"].values()) == int(train.lengths.sum())
    else:
        assert report.label_counts["train"][BLANK] == 0
        assert sum(report.label_counts["train"].values()) == int(train.label_lengths.sum())
    assert all(report.label_counts["val"][label] > 0 for label in counted)
    assert report.max_length == train.max_length and report.oov_rate["train"] == 0.0
    assert report.notes and report.notes[0].startswith(f"task {task}: ")
    assert report.padding_waste_unbucketed > 1.0


def test_each_task_has_its_own_default_lengths():
    assert DataSpec().synthetic == SyntheticConfig()
    assert DataSpec(task="tag").synthetic == SyntheticConfig(min_length=8, max_length=24)
    assert DataSpec(task="ctc").synthetic == SyntheticConfig(min_length=6, max_length=32)
    with pytest.raises(ValueError, match="task: expected one of classify, tag, ctc"):
        DataSpec(task="seq2seq")
