"""data/splits.py: label order, largest-remainder part sizes, stratified partitions."""

from collections import Counter

import numpy as np
import pytest

from jaxtune.data.splits import label_order, split_counts, stratified_split


def test_label_order_drops_duplicates_and_sorts_negative_integers_numerically():
    assert label_order(["1", "-2", "0", "1", "-10"]) == ("-10", "-2", "0", "1")


def test_label_order_accepts_any_collection():
    assert label_order({"b", "a"}) == label_order(("a", "b", "a")) == ("a", "b")


def largest_remainder(total, fractions):
    """Part sizes by hand: floors, then one more to the largest remainders, earlier first."""
    exact = [total * f for f in fractions]
    counts = [int(np.floor(x)) for x in exact]
    by_remainder = sorted(range(len(exact)), key=lambda p: (-(exact[p] - counts[p]), p))
    for p in by_remainder[: total - sum(counts)]:
        counts[p] += 1
    return counts


@pytest.mark.parametrize(
    "total, fractions",
    [(10, (0.45, 0.45, 0.1)), (7, (0.5, 0.25, 0.25)), (3, (0.6, 0.2, 0.2)), (101, (0.8, 0.1, 0.1))],
)
def test_part_sizes_are_the_fractions_rounded_by_largest_remainder(total, fractions):
    parts = stratified_split(["x"] * total, fractions, seed=0)
    assert [len(p) for p in parts] == largest_remainder(total, fractions)


def test_a_tie_of_remainders_goes_to_the_earlier_part():
    # 5 * (0.5, 0.5) = 2.5 each: the first part takes the odd example.
    assert [len(p) for p in stratified_split(["x"] * 5, [0.5, 0.5], seed=9)] == [3, 2]


def test_parts_are_sorted_int64_indices_in_file_order():
    labels = ["a", "b"] * 20
    for part in stratified_split(labels, [0.5, 0.25, 0.25], seed=1):
        assert part.dtype == np.int64
        assert np.all(np.diff(part) > 0)


def test_a_zero_fraction_gives_an_empty_part():
    labels = ["a"] * 6 + ["b"] * 4
    train, val, test = stratified_split(labels, [0.5, 0.0, 0.5], seed=0)
    assert len(val) == 0
    assert sorted([*train.tolist(), *test.tolist()]) == list(range(10))
    assert Counter(labels[i] for i in train) == Counter(labels[i] for i in test)


def test_integer_labels_are_stratified_like_their_strings():
    labels = [2] * 8 + [10] * 4
    parts = stratified_split(labels, [0.75, 0.25], seed=0)
    assert [Counter(labels[i] for i in p) for p in parts] == [{2: 6, 10: 3}, {2: 2, 10: 1}]
    as_strings = stratified_split([str(x) for x in labels], [0.75, 0.25], seed=0)
    assert all(np.array_equal(a, b) for a, b in zip(parts, as_strings, strict=True))


@pytest.mark.parametrize("fractions", [[1.2, -0.2], [0.5, 0.4], [[0.5, 0.5]]])
def test_bad_fractions_are_refused_with_their_values(fractions):
    with pytest.raises(ValueError) as caught:
        stratified_split(["a", "b"], fractions, seed=0)
    assert str(caught.value) == (
        f"fractions must be non-negative and sum to 1, found {np.asarray(fractions).tolist()}"
    )


def test_split_counts_give_a_small_class_to_the_parts_that_need_it():
    # 3 classes of 1 into 3 equal parts of 1: each part gets exactly one class's example.
    counts = split_counts(np.array([1, 1, 1]), np.array([1 / 3, 1 / 3, 1 / 3]))
    np.testing.assert_array_equal(np.sort(counts, axis=None), [0, 0, 0, 0, 0, 0, 1, 1, 1])
    np.testing.assert_array_equal(counts.sum(axis=0), [1, 1, 1])
    np.testing.assert_array_equal(counts.sum(axis=1), [1, 1, 1])


def test_split_counts_are_exact_when_the_fractions_divide_every_class():
    sizes = np.array([20, 40, 60])
    fractions = np.array([0.5, 0.25, 0.25])
    np.testing.assert_array_equal(split_counts(sizes, fractions), np.outer(sizes, fractions))


def test_each_class_is_shuffled_with_the_seed_before_it_is_cut():
    # One class of 100 in file order: the first part is not the first 50 lines.
    first, _ = stratified_split(["a"] * 100, [0.5, 0.5], seed=0)
    assert first.tolist() != list(range(50))
