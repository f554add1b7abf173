"""Examples and the label check (jaxtune/data/examples.py): rows kept, refused or counted."""

import pytest

from jaxtune.data.examples import MAX_REASONS, DataError, Examples, check_labels


def _examples(labels, skipped=0, reasons=()):
    return Examples(
        path="val.txt",
        texts=[f"text {i}" for i in range(len(labels))],
        labels=list(labels),
        lines=[2 * i + 1 for i in range(len(labels))],  # a blank line between examples
        skipped=skipped,
        skip_reasons=tuple(reasons),
    )


def test_select_takes_rows_in_the_given_order_and_keeps_the_file_counts():
    examples = _examples(["a", "b", "c"], skipped=2)
    chosen = examples.select([2, 0])
    assert (chosen.texts, chosen.labels, chosen.lines) == (["text 2", "text 0"], ["c", "a"], [5, 1])
    assert (len(chosen), chosen.skipped, chosen.path) == (2, 2, "val.txt")


def test_unknown_label_is_one_line_naming_file_line_and_the_allowed_labels():
    with pytest.raises(DataError) as caught:
        check_labels(_examples(["joy", "happy", "fear"]), {"joy", "fear", "anger"})
    assert str(caught.value) == (
        "val.txt:3: found label 'happy', which is not among the training labels; "
        "expected one of anger, fear, joy"
    )


def test_skipping_keeps_known_labels_and_adds_to_the_file_skips():
    examples = _examples(["joy", "happy", "fear", "glad"], skipped=1, reasons=["val.txt:9: bad"])
    kept = check_labels(examples, {"joy", "fear"}, skip_bad_lines=True, known_from="train.txt")
    assert (kept.texts, kept.lines) == (["text 0", "text 2"], [1, 5])
    assert kept.skipped == 1 + 2
    assert kept.skip_reasons[0] == "val.txt:9: bad"
    assert "val.txt:7: found label 'glad', which is not among train.txt" in kept.skip_reasons[2]


def test_all_known_returns_the_examples_unchanged():
    examples = _examples(["a", "b"])
    assert check_labels(examples, {"a", "b", "c"}) is examples


def test_reasons_are_capped_but_every_skip_is_counted():
    examples = _examples(["x"] * (MAX_REASONS + 4) + ["a"])
    kept = check_labels(examples, {"a"}, skip_bad_lines=True)
    assert kept.skipped == MAX_REASONS + 4
    assert len(kept.skip_reasons) == MAX_REASONS
    assert kept.labels == ["a"]
