"""spec/train.py: the train section, its metric aliases, early stopping and one-line errors."""

from __future__ import annotations

import dataclasses

import pytest

from jaxtune.embedding_rows import MODES
from jaxtune.population.status import MONITORS, EarlyStopping
from jaxtune.spec.errors import Reader, SpecError
from jaxtune.spec.train import CLASS_WEIGHTS, KEYS, METRIC_ALIASES, TrainSpec, metric_alias
from jaxtune.spec.train import parse_train as _parse_train

CLASS_WEIGHTS_ALLOWED = f"{', '.join(CLASS_WEIGHTS)} or a list of positive weights, one per class"


def parse(section, fixed=None, metric="val_accuracy"):
    return _parse_train(Reader("s.yaml"), section, {} if fixed is None else fixed, metric)


def train_error(section, fixed=None) -> str:
    with pytest.raises(SpecError) as error:
        parse(section, fixed)
    message = str(error.value)
    assert message.startswith("s.yaml: ") and "\n" not in message
    return message.removeprefix("s.yaml: ")


def test_metric_aliases_name_metrics_jaxtune_reports():
    assert set(METRIC_ALIASES.values()) <= set(MONITORS)
    for alias, name in METRIC_ALIASES.items():
        assert metric_alias(alias) == name


def test_metric_alias_passes_other_values_through_unchanged():
    assert metric_alias("val_loss") == "val_loss"
    assert metric_alias("accuracy") == "accuracy"
    unhashable = ["val_acc"]
    assert metric_alias(unhashable) is unhashable  # left for the caller's one-line error
    assert metric_alias(None) is None


def test_a_missing_section_is_the_default_with_the_metric_as_monitor():
    spec = parse(None, metric="val_loss")
    assert spec == dataclasses.replace(TrainSpec(), early_stopping=EarlyStopping("val_loss"))
    assert parse({}, metric="val_macro_f1").early_stopping.monitor == "val_macro_f1"


def test_train_epochs_becomes_the_fixed_hyperparameter():
    fixed = {"dropout": 0.1}
    parse({"epochs": "7"}, fixed)
    assert fixed == {"dropout": 0.1, "epochs": 7}


def test_train_epochs_must_be_a_valid_epoch_count():
    assert train_error({"epochs": 0}) == (
        "train.epochs: expected an integer in [1, 100000], found 0"
    )


def test_each_key_is_read_into_its_field():
    spec = parse(
        {
            "eval_batch_size": 128,
            "max_loss": None,
            "class_weights": [1, "2.5"],
            "checkpoint_every": None,
            "eval_every": 50,
            "max_steps": 1000,
            "embedding_update": "lazy",
        }
    )
    assert (spec.eval_batch_size, spec.max_loss, spec.class_weights) == (128, None, (1.0, 2.5))
    assert (spec.checkpoint_every, spec.eval_every, spec.max_steps) == (None, 50, 1000)
    assert spec.embedding_update == "lazy"


def test_eval_every_epoch_is_none():
    assert parse({"eval_every": "epoch"}).eval_every is None
    assert parse({}).eval_every is None


def test_class_weights_take_a_mode_or_positive_weights():
    assert parse({"class_weights": "balanced"}).class_weights == "balanced"
    assert parse({"class_weights": "none"}).class_weights == "none"
    weights = parse({"class_weights": [0.5, 2]}).class_weights
    assert weights == (0.5, 2.0) and all(type(w) is float for w in weights)


@pytest.mark.parametrize("value", [[], "Balanced", [1, -2], [1, "heavy"], 3, None, [2e6]])
def test_bad_class_weights_are_one_line(value):
    assert train_error({"class_weights": value}) == (
        f"train.class_weights: expected {CLASS_WEIGHTS_ALLOWED}, found {value!r}"
    )


def test_early_stopping_reads_each_setting():
    stopping = parse(
        {
            "early_stopping": {
                "monitor": "validation_loss",
                "patience": 3,
                "min_delta": "1e-3",
                "restore_best": "no",
            }
        }
    ).early_stopping
    assert stopping == EarlyStopping("val_loss", patience=3, min_delta=0.001, restore_best=False)


def test_early_stopping_defaults_to_no_patience_and_restoring_the_best():
    stopping = parse({"early_stopping": {}}).early_stopping
    assert stopping == EarlyStopping(
        "val_accuracy", patience=None, min_delta=0.0, restore_best=True
    )


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            {"min_delta": -0.1},
            "train.early_stopping.min_delta: expected a number in [0, 1e+09], found -0.1",
        ),
        (
            {"restore_best": "maybe"},
            "train.early_stopping.restore_best: expected true or false, found 'maybe'",
        ),
        (
            {"patience": 2.5},
            "train.early_stopping.patience: expected an integer in [1, 100000], found 2.5",
        ),
        (
            {"mode": "max"},
            "train.early_stopping.mode: unknown key; allowed: monitor, patience, min_delta, "
            "restore_best",
        ),
        ("stop", "train.early_stopping: expected a mapping, found 'stop'"),
    ],
)
def test_bad_early_stopping_is_one_line(section, message):
    assert train_error({"early_stopping": section}) == message


@pytest.mark.parametrize(
    ("key", "value", "allowed"),
    [
        ("eval_batch_size", 0, "an integer in [1, 65536]"),
        ("eval_batch_size", 65537, "an integer in [1, 65536]"),
        ("max_steps", 0, "null or an integer in [1, 1073741824]"),
        ("max_loss", 0, "null or a number in (0, 1e+30]"),
        ("embedding_update", "sparse", "one of " + ", ".join(MODES)),
        ("eval_every", "step", "epoch or an integer in [1, 1073741824]"),
    ],
)
def test_a_bad_value_names_the_key_the_value_and_what_is_allowed(key, value, allowed):
    assert train_error({key: value}) == f"train.{key}: expected {allowed}, found {value!r}"


def test_unknown_key_lists_every_train_key():
    assert train_error({"epoch": 3}) == f"train.epoch: unknown key; allowed: {', '.join(KEYS)}"
