"""spec/document.py: the whole spec read section by section into a SweepSpec; one-line errors."""

from __future__ import annotations

import dataclasses

import pytest

from jaxtune.spec.document import (
    DEFAULT_RUN_CAP,
    OPTUNA_SAMPLERS,
    SweepSpec,
    _written_key,
    load_spec,
    parse_spec,
)
from jaxtune.spec.errors import SpecError


def spec_error(document, path="s.yaml") -> str:
    with pytest.raises(SpecError) as error:
        parse_spec(document, path)
    message = str(error.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    return message.removeprefix(f"{path}: ")


def test_an_empty_spec_is_a_grid_of_one_config_named_after_its_file():
    spec = parse_spec({}, "sweeps/tiny.yaml")
    assert (spec.name, spec.method, spec.seed, spec.run_cap) == ("tiny", "grid", 0, None)
    assert (spec.fixed, spec.parameters, spec.distributions, spec.named) == ({}, {}, {}, {})
    assert spec.optuna_sampler == "TPESampler" and spec.notices == ()


def test_the_sweep_spec_is_frozen():
    spec = parse_spec({}, "s.yaml")
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.name = "other"  # type: ignore[misc]
    assert isinstance(spec, SweepSpec)


def test_description_is_free_text_that_changes_nothing():
    assert parse_spec({"description": "a note"}, "s.yaml") == parse_spec({}, "s.yaml")


def test_seed_and_name_are_read():
    spec = parse_spec({"name": "lr-study", "seed": "7"}, "s.yaml")
    assert (spec.name, spec.seed) == ("lr-study", 7)


@pytest.mark.parametrize("name", ["", ".", 3, None])
def test_a_name_that_is_not_a_directory_name_is_one_line(name):
    assert spec_error({"name": name}) == (
        f"name: expected a directory name without '/', found {name!r}"
    )


def test_a_metric_alias_sets_the_metric_its_goal_and_the_early_stopping_monitor():
    spec = parse_spec({"metric": {"name": "validation_loss"}}, "s.yaml")
    assert (spec.metric, spec.goal) == ("val_loss", "minimize")
    assert spec.train.early_stopping.monitor == "val_loss"
    spec = parse_spec({"metric": {"name": "val_acc", "goal": "minimize"}}, "s.yaml")
    assert (spec.metric, spec.goal) == ("val_accuracy", "minimize")


def test_baselines_default_to_each_swept_hyperparameters_first_value():
    spec = parse_spec(
        {
            "method": "one_at_a_time",
            "parameters": {
                "lr": {"values": [0.1, 0.01], "baseline": 0.01},
                "dropout": {"values": [0.3, 0.1]},
            },
        },
        "s.yaml",
    )
    assert spec.baselines == {"learning_rate": 0.01, "dropout": 0.3}


@pytest.mark.parametrize("sampler", OPTUNA_SAMPLERS)
def test_each_named_optuna_sampler_is_kept(sampler):
    spec = parse_spec({"method": "bayes", "run_cap": 4, "optuna": {"sampler": sampler}}, "s.yaml")
    assert spec.optuna_sampler == sampler


def test_optuna_takes_only_a_sampler():
    assert spec_error({"optuna": {"seed": 3}}) == "optuna.seed: unknown key; allowed: sampler"


def test_run_cap_is_kept_for_grid_without_a_notice_and_defaults_only_for_drawn_methods():
    spec = parse_spec({"run_cap": 3}, "s.yaml")
    assert (spec.run_cap, spec.notices) == (3, ())
    assert parse_spec({"method": "one_at_a_time"}, "s.yaml").run_cap is None
    assert parse_spec({"method": "random"}, "s.yaml").run_cap == DEFAULT_RUN_CAP


def test_greedy_says_it_ignores_run_cap():
    spec = parse_spec(
        {"method": "greedy", "run_cap": 3, "parameters": {"dropout": {"values": [0.1, 0.2]}}},
        "s.yaml",
    )
    assert spec.notices == (
        "s.yaml: run_cap: ignored by method greedy (it trains each iteration's values)",
    )


def test_one_trainable_flag_in_data_is_fixed_and_two_are_swept():
    one = parse_spec({"data": {"name": "sst2", "embedding": {"trainable": False}}}, "s.yaml")
    assert one.fixed == {"embedding_trainable": False} and one.parameters == {}
    both = parse_spec(
        {"data": {"name": "sst2", "embedding": {"trainable": [False, True]}}}, "s.yaml"
    )
    assert both.parameters == {"embedding_trainable": [False, True]}
    assert both.baselines == {"embedding_trainable": False}


def test_named_configs_take_only_method_grid():
    document = {"method": "one_at_a_time", "configs": {"a": {"lr": 0.1}}}
    assert (
        spec_error(document) == "configs: named configs run as listed; found method one_at_a_time"
    )


def test_max_steps_with_epochs_in_a_named_config_is_one_line():
    document = {"train": {"max_steps": 100}, "configs": {"a": {"epochs": 3}}}
    assert spec_error(document) == (
        "train.max_steps: a config's budget is epochs or max_steps, not both; remove one"
    )


def test_swept_trainable_flags_with_named_configs_are_refused_not_dropped():
    document = {
        "data": {"name": "sst2", "embedding": {"trainable": [True, False]}},
        "configs": {"a": {"lr": 0.1}},
    }
    message = spec_error(document)
    assert message.startswith("data.embedding.trainable: a list of flags sweeps")
    assert "set embedding_trainable in each named config" in message


def test_written_key_is_the_key_as_the_user_spelled_it():
    top = {"model": {"maxlen": 40}, "parameters": {"max_len": {"value": 12}}}
    assert _written_key(top, "max_length", "model") == "model.maxlen"
    top = {"parameters": {"max_len": {"value": 12}}}
    assert _written_key(top, "max_length", "parameters") == "parameters.max_len.value"
    top = {"parameters": {"sequence_length": {"values": [8, 16]}}}
    assert _written_key(top, "max_length", "parameters") == "parameters.sequence_length"
    assert _written_key({"model": None}, "max_length", "model") == "model.max_length"


def test_load_spec_reads_a_file_as_parse_spec_reads_its_document(tmp_path):
    path = tmp_path / "lr.yaml"
    path.write_text("method: grid\nparameters:\n  lr: {values: [1e-3, 1e-2]}\n")
    expected = parse_spec(
        {"method": "grid", "parameters": {"lr": {"values": ["1e-3", "1e-2"]}}}, str(path)
    )
    assert load_spec(path) == expected


def test_load_spec_of_a_directory_cannot_read_it(tmp_path):
    with pytest.raises(SpecError) as error:
        load_spec(tmp_path)
    message = str(error.value)
    assert message.startswith(f"{tmp_path}: cannot read: ") and "\n" not in message


def test_load_spec_of_non_utf8_bytes_cannot_read_them(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: caf\u00e9\n".encode("latin-1"))
    with pytest.raises(SpecError) as error:
        load_spec(path)
    message = str(error.value)
    assert message.startswith(f"{path}: cannot read: ") and "utf-8" in message
    assert "\n" not in message
