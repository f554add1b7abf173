"""spec/model.py: fixed hyperparameters (model) and named configs (configs), one-line errors."""

from __future__ import annotations

import pytest

from jaxtune.space import HPARAMS
from jaxtune.spec.errors import Reader, SpecError
from jaxtune.spec.model import parse_model, parse_named_configs

READ = Reader("s.yaml")


def model_error(parse, section) -> str:
    with pytest.raises(SpecError) as error:
        parse(READ, section)
    message = str(error.value)
    assert message.startswith("s.yaml: ") and "\n" not in message
    return message.removeprefix("s.yaml: ")


def test_model_maps_aliases_to_canonical_names_and_parses_values():
    fixed = parse_model(READ, {"cell": "LSTM", "lr": "3e-4", "units": [64, 32], "layers": 2})
    assert fixed == {
        "architecture": "lstm",
        "learning_rate": 3e-4,
        "hidden_size": (64, 32),
        "num_layers": 2,
    }
    assert list(fixed) == ["architecture", "learning_rate", "hidden_size", "num_layers"]


def test_a_missing_model_section_fixes_nothing():
    assert parse_model(READ, None) == {}


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            {"hidden_dim": 8, "units": 16},
            "model.units: 'hidden_size' is already set by model.hidden_dim",
        ),
        (
            {"lr": 0.1, "learning_rate": 0.2},
            "model.learning_rate: 'learning_rate' is already set by model.lr",
        ),
    ],
)
def test_an_alias_and_its_name_set_twice_names_both_keys(section, message):
    assert model_error(parse_model, section) == message


def test_a_bad_model_value_names_the_key_as_written():
    allowed = HPARAMS["embedding_dim"].allowed
    assert model_error(parse_model, {"embed_dim": 0}) == (
        f"model.embed_dim: expected {allowed}, found 0"
    )


def test_an_odd_model_key_is_quoted_in_the_path():
    message = model_error(parse_model, {"drop out": 0.1})
    assert message.startswith("model.'drop out': unknown hyperparameter 'drop out'; known: ")


def test_a_non_mapping_model_is_one_line():
    assert model_error(parse_model, ["lr"]) == "model: expected a mapping, found ['lr']"


def test_named_configs_keep_spec_order_with_canonical_parsed_values():
    named = parse_named_configs(
        READ,
        {"wide": {"units": 128, "lr": "1e-3"}, "narrow": {"hidden_size": 8}, "plain": None},
    )
    assert named == {
        "wide": {"hidden_size": 128, "learning_rate": 0.001},
        "narrow": {"hidden_size": 8},
        "plain": {},  # an empty config is the shared model values alone
    }
    assert list(named) == ["wide", "narrow", "plain"]


def test_a_missing_configs_section_has_no_named_configs():
    assert parse_named_configs(READ, None) == {}


@pytest.mark.parametrize(
    ("name", "where"),
    [(3, "configs.3"), ("", "configs.''"), ("  ", "configs.'  '"), ("a\nb", "configs.'a\\nb'")],
)
def test_a_config_name_must_be_printable_text(name, where):
    assert model_error(parse_named_configs, {name: {"lr": 0.1}}) == (
        f"{where}: expected a config name, found {name!r}"
    )


def test_a_config_setting_a_hyperparameter_twice_is_one_line():
    assert model_error(parse_named_configs, {"a": {"units": 8, "hidden_size": 16}}) == (
        "configs.a.hidden_size: 'hidden_size' is set twice"
    )


def test_a_non_mapping_configs_section_is_one_line():
    assert model_error(parse_named_configs, "fast") == "configs: expected a mapping, found 'fast'"
