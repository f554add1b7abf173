"""report/text.py: how the report writes numbers, hyperparameter values, statuses, names."""

import math

import pytest

from jaxtune.report.text import (
    describe,
    differing_names,
    fmt,
    fmt_value,
    metric_cell,
    status_cell,
    value_label,
)


def record(trial_id=0, studies=(), **hparams):
    return {"trial_id": trial_id, "studies": list(studies), "hparams": hparams}


@pytest.mark.parametrize(
    ("value", "label"),
    [
        (True, "true"),
        (False, "false"),
        (None, "null"),
        (1e-4, "0.0001"),
        (1 / 3, "0.333333"),  # six significant digits
        (2.5e-7, "2.5e-07"),
        (64, "64"),
        ("gru", "gru"),
        ([3, 4, 5], "3,4,5"),
        ((128, 0.5), "128,0.5"),
    ],
)
def test_value_label_writes_short_tick_labels(value, label):
    assert value_label(value) == label


def test_value_label_digits_sets_significant_digits():
    assert value_label(1 / 3, digits=2) == "0.33"
    assert value_label(123456.0, digits=3) == "1.23e+05"


def test_value_label_cuts_past_the_limit_with_an_ellipsis():
    text = "abcdefghijklmnopqrstuvwxyz"
    assert value_label(text[:14]) == text[:14]  # exactly at the limit: kept whole
    cut = value_label(text)
    assert len(cut) == 14 and cut == text[:13] + "…"
    assert value_label(text, limit=5) == "abcd…"
    assert value_label(list(range(10, 20)), limit=8) == "10,11,1…"


@pytest.mark.parametrize(
    ("value", "digits", "cell"),
    [
        (None, 4, "—"),
        (True, 4, "true"),
        (False, 0, "false"),
        (0.9, 4, "0.9000"),
        (2 / 3, 2, "0.67"),
        (0.001, 0, "0.001"),
        (1e-5, 0, "1e-05"),
        (7, 4, "7"),  # ints stay ints
        ("adam", 4, "adam"),
        ([3, 4, 5], 4, "[3, 4, 5]"),
        ([0.5, None, True], 4, "[0.5, —, true]"),  # items in their shortest form
    ],
)
def test_fmt_writes_table_cells(value, digits, cell):
    assert fmt(value, digits) == cell


def test_fmt_leaves_non_finite_floats_readable():
    assert fmt(math.nan) == "nan"
    assert fmt(math.inf) == "inf"
    assert fmt(-math.inf, 0) == "-inf"


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, "null"), (True, "true"), (0.001, "0.001"), (0.5, "0.5"), ([3, 4, 5], "[3, 4, 5]")],
)
def test_fmt_value_writes_values_as_a_spec_would(value, text):
    assert fmt_value(value) == text


def test_metric_cell_formats_the_best_epochs_metric_or_a_dash():
    assert metric_cell({"best": {"val_loss": 0.25}}, "val_loss") == "0.2500"
    assert metric_cell({"best": {"val_accuracy": 1}}, "val_accuracy") == "1.0000"  # an int
    assert metric_cell({"best": {"val_loss": 0.25}}, "val_macro_f1") == "—"
    assert metric_cell({"best": None}, "val_loss") == "—"
    assert metric_cell({}, "val_loss") == "—"


def test_status_cell_shouts_failed_and_pruned_with_their_reason():
    reason = "diverged at step 7 (epoch 1)"
    assert status_cell({"status": "failed", "status_reason": reason}) == f"FAILED: {reason}"
    assert status_cell({"status": "pruned", "status_reason": "below the median"}) == (
        "PRUNED: below the median"
    )
    assert status_cell({"status": "pruned", "status_reason": ""}) == "PRUNED"
    assert status_cell({"status": "failed"}) == "FAILED"


def test_status_cell_keeps_other_statuses_quiet():
    assert status_cell({"status": "completed", "status_reason": "ran 3 epochs"}) == "completed"
    assert status_cell({"status": "stopped", "status_reason": "early stopping"}) == "stopped"
    assert status_cell({}) == "?"


def test_describe_names_the_given_hyperparameters_values():
    config = record(learning_rate=0.001, dropout=0.25, hidden_size=[128, 64])
    assert describe(config, ["learning_rate", "hidden_size"]) == (
        "learning_rate=0.001, hidden_size=128,64"
    )
    assert describe(config, []) == ""


def test_describe_uses_a_one_at_a_time_configs_own_study():
    config = record(studies=["dropout"], learning_rate=0.001, dropout=0.25)
    assert describe(config, ["learning_rate"]) == "dropout=0.25"
    baseline = record(studies=["dropout", "learning_rate"], learning_rate=0.001, dropout=0.0)
    assert describe(baseline, ["learning_rate"]) == "the baseline"


def test_describe_skips_values_the_cell_type_ignores():
    cnn = record(architecture="cnn", hidden_size=64, filter_sizes=[3, 4, 5])
    assert describe(cnn, ["hidden_size", "filter_sizes"]) == "filter_sizes=3,4,5"
    gru = record(architecture="gru", hidden_size=64, filter_sizes=[3, 4, 5])
    assert describe(gru, ["hidden_size", "filter_sizes"]) == "hidden_size=64"


def test_describe_cuts_long_text_at_the_limit():
    names = [f"custom_{i}" for i in range(8)]
    config = record(**{n: "value" for n in names})
    full = ", ".join(f"{n}=value" for n in names)
    text = describe(config, names, limit=40)
    assert len(text) == 40 and text == full[:39] + "…"
    assert describe(config, names, limit=len(full)) == full


def test_differing_names_keeps_names_whose_written_value_differs():
    records = [
        record(0, learning_rate=0.001, hidden_size=[128, 64], optimizer="adam"),
        record(1, learning_rate=0.01, hidden_size=[128, 64], optimizer="adam"),
        record(2, learning_rate=0.001, hidden_size=[64, 64], optimizer="adam"),
    ]
    names = ["optimizer", "hidden_size", "learning_rate"]
    assert differing_names(records, names) == ["hidden_size", "learning_rate"]  # names' order
    assert differing_names(records[:1], names) == []
