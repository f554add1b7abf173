"""The built-in task: deterministic, balanced, and its labels depend on word order."""

from collections import Counter, defaultdict

import numpy as np

from jaxtune.data.synthetic import NEGATIVE, NEGATORS, POSITIVE, SyntheticConfig, make_synthetic

CONFIG = SyntheticConfig(train_size=3000, val_size=300, test_size=300)


def rule_label(words):
    """The task's rule, restated: a negator right before a sentiment word flips it."""
    score = 0
    for i, word in enumerate(words):
        polarity = 1 if word in POSITIVE else -1 if word in NEGATIVE else 0
        if polarity and i > 0 and words[i - 1] in NEGATORS:
            polarity = -polarity
        score += polarity
    return 0 if score < 0 else 1 if score == 0 else 2


def words_of(dataset, split, i):
    return [dataset.vocab[t] for t in split.tokens[i, : split.lengths[i]]]


def test_same_config_same_bytes_other_seed_other_data():
    a, b = make_synthetic(CONFIG), make_synthetic(CONFIG)
    for name in ("train", "val", "test"):
        for field in ("tokens", "lengths", "labels"):
            np.testing.assert_array_equal(
                getattr(getattr(a, name), field), getattr(getattr(b, name), field)
            )
    c = make_synthetic(SyntheticConfig(train_size=3000, val_size=300, test_size=300, seed=1))
    assert not np.array_equal(a.train.tokens, c.train.tokens)


def test_labels_follow_the_order_rule_and_classes_are_balanced():
    data = make_synthetic(CONFIG)
    split = data.train
    labels = [rule_label(words_of(data, split, i)) for i in range(len(split))]
    np.testing.assert_array_equal(labels, split.labels)
    assert np.bincount(split.labels).tolist() == [1000, 1000, 1000]
    assert split.lengths.min() >= CONFIG.min_length and split.lengths.max() <= CONFIG.max_length
    assert (
        split.tokens[np.arange(CONFIG.max_length)[None, :] >= split.lengths[:, None]] == 0
    ).all()


def test_bag_of_words_cannot_decide_what_word_order_decides():
    """The best classifier that sees only word counts stays far below the order rule (100%)."""
    data = make_synthetic(CONFIG)
    positive, negative, negators = set(POSITIVE), set(NEGATIVE), set(NEGATORS)
    groups = defaultdict(Counter)
    for i in range(len(data.train)):
        words = words_of(data, data.train, i)
        counts = (
            sum(w in positive for w in words),
            sum(w in negative for w in words),
            sum(w in negators for w in words),
        )
        groups[counts][int(data.train.labels[i])] += 1
    # All sentiment words of a polarity are interchangeable, so these counts are all a
    # bag-of-words model can use; the majority label per count is its best (in-sample) guess.
    bayes = sum(c.most_common(1)[0][1] for c in groups.values()) / len(data.train)
    assert bayes < 0.8


def test_label_noise_flips_about_the_asked_fraction():
    noisy = make_synthetic(
        SyntheticConfig(train_size=3000, val_size=10, test_size=10, label_noise=0.3)
    )
    data = noisy.train
    disagree = np.mean(
        [rule_label(words_of(noisy, data, i)) != data.labels[i] for i in range(len(data))]
    )
    assert 0.15 < disagree < 0.25  # 30% redrawn, two thirds of those land on another class
