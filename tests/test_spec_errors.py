"""spec/errors.py: SpecError lines naming the file and key path, and the Reader's checks."""

from __future__ import annotations

import pytest

from jaxtune.space import HPARAMS
from jaxtune.spec.errors import Reader, SpecError, key_name

KNOWN = ", ".join(HPARAMS)


def spec_error(function, *args) -> str:
    with pytest.raises(SpecError) as error:
        function(*args)
    message = str(error.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("name", ["lr", "hidden_size", "a.b", "Üñí"])
def test_key_name_keeps_plain_names(name):
    assert key_name(name) == name


@pytest.mark.parametrize("name", ["", "two words", "line\nbreak", "tab\there", 3, None, True])
def test_key_name_quotes_odd_names_so_the_path_stays_one_readable_line(name):
    assert key_name(name) == repr(name)
    assert "\n" not in key_name(name)


def test_spec_error_is_a_value_error():
    assert issubclass(SpecError, ValueError)


def test_error_prefixes_the_file_and_the_key_path():
    read = Reader("sweeps/a.yaml")
    error = read.error("train.epochs", "expected an integer, found 0")
    assert isinstance(error, SpecError)
    assert str(error) == "sweeps/a.yaml: train.epochs: expected an integer, found 0"
    assert str(read.error("", "expected a mapping")) == "sweeps/a.yaml: expected a mapping"


def test_mapping_of_null_is_empty_and_of_a_mapping_is_a_copy():
    read = Reader("s.yaml")
    assert read.mapping(None, "train", ("epochs",)) == {}
    section = {"epochs": 3}
    copy = read.mapping(section, "train", ("epochs",))
    assert copy == section and copy is not section
    assert read.mapping({"anything": 1, 2: 3}, "configs", None) == {"anything": 1, 2: 3}


@pytest.mark.parametrize("value", [[1, 2], "epochs", 3, True])
def test_mapping_rejects_a_non_mapping_naming_the_key_and_value(value):
    message = spec_error(Reader("s.yaml").mapping, value, "train", ("epochs",))
    assert message == f"s.yaml: train: expected a mapping, found {value!r}"


def test_mapping_names_the_unknown_key_under_its_section_and_lists_the_allowed():
    message = spec_error(Reader("s.yaml").mapping, {"epoch": 3}, "train", ("epochs", "max_steps"))
    assert message == "s.yaml: train.epoch: unknown key; allowed: epochs, max_steps"


def test_mapping_at_the_top_level_names_the_bare_key_and_quotes_odd_ones():
    read = Reader("s.yaml")
    message = spec_error(read.mapping, {"nme": 1}, "", ("name", "seed"))
    assert message == "s.yaml: nme: unknown key; allowed: name, seed"
    message = spec_error(read.mapping, {"bad key": 1}, "budget", ("chunk",))
    assert message == "s.yaml: budget.'bad key': unknown key; allowed: chunk"


def test_parse_turns_a_space_error_into_a_spec_error_at_the_key():
    read = Reader("s.yaml")
    parse = HPARAMS["dropout"].parse
    assert read.parse(parse, "0.25", "model.dropout") == 0.25
    message = spec_error(read.parse, parse, 1.5, "model.dropout")
    assert message == f"s.yaml: model.dropout: expected {parse.allowed}, found 1.5"


def test_parse_lets_other_errors_through():
    def broken(value):
        raise KeyError(value)

    with pytest.raises(KeyError):
        Reader("s.yaml").parse(broken, 1, "model.dropout")


def test_choice_returns_an_allowed_value_and_names_the_options_otherwise():
    read = Reader("s.yaml")
    assert read.choice("grid", "method", ("grid", "random")) == "grid"
    message = spec_error(read.choice, "Grid", "method", ("grid", "random"))
    assert message == "s.yaml: method: expected one of grid, random, found 'Grid'"


def test_hparam_canonicalises_an_alias_and_parses_its_value():
    read = Reader("s.yaml")
    assert read.hparam("lr", "1e-3", "model.lr") == ("learning_rate", 0.001)
    assert read.hparam("cell", "LSTM", "model.cell") == ("architecture", "lstm")


def test_hparam_names_an_unknown_hyperparameter_and_lists_the_known():
    message = spec_error(Reader("s.yaml").hparam, "learnin_rate", 0.1, "model.learnin_rate")
    assert message == (
        f"s.yaml: model.learnin_rate: unknown hyperparameter 'learnin_rate'; known: {KNOWN}"
    )


def test_hparam_names_a_bad_value_and_what_the_hyperparameter_allows():
    message = spec_error(Reader("s.yaml").hparam, "units", 0, "configs.a.units")
    allowed = HPARAMS["hidden_size"].allowed
    assert message == f"s.yaml: configs.a.units: expected {allowed}, found 0"
