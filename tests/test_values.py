"""values.py: each parser returns the value it accepts or one SpaceError naming what is allowed."""

from __future__ import annotations

import math

import pytest

from jaxtune.values import (
    SpaceError,
    boolean,
    choice,
    floating,
    integer,
    integer_tuple,
    layer_conflict,
    layer_sizes,
    layer_sizes_parser,
    optional,
)

HUGE = 10**400  # YAML reads any digit string as an int, even one beyond float range


def rejects(parse, value) -> str:
    """The SpaceError message `parse` gives for `value`; it must end with the value as written."""
    with pytest.raises(SpaceError) as error:
        parse(value)
    message = str(error.value)
    assert message == f"expected {parse.allowed}, found {value!r}"
    return message


@pytest.mark.parametrize(
    ("low_open", "high_open", "allowed"),
    [
        (False, False, "a number in [0, 1]"),
        (True, False, "a number in (0, 1]"),
        (False, True, "a number in [0, 1)"),
        (True, True, "a number in (0, 1)"),
    ],
)
def test_floating_states_its_interval_with_open_and_closed_ends(low_open, high_open, allowed):
    parse = floating(0.0, 1.0, low_open=low_open, high_open=high_open)
    assert parse.allowed == allowed
    for end, is_open in ((0.0, low_open), (1.0, high_open)):
        if is_open:
            rejects(parse, end)
        else:
            assert parse(end) == end
    assert parse(0.5) == 0.5
    rejects(parse, -1e-9)
    rejects(parse, 1.0 + 1e-9)


def test_floating_reads_yaml_exponent_strings_and_returns_a_float():
    parse = floating(0.0, 1e6, low_open=True)
    value = parse("1e-3")  # PyYAML reads `1e-3` (no dot) as a string
    assert value == 0.001 and type(value) is float
    assert type(parse(3)) is float


@pytest.mark.parametrize(
    "value", [True, False, "fast", "", None, [0.5], math.nan, "nan", math.inf, "-inf", HUGE]
)
def test_floating_rejects_non_numbers_and_non_finite_values_as_written(value):
    rejects(floating(-1e9, 1e9), value)


def test_integer_accepts_whole_numbers_in_range_as_int():
    parse = integer(1, 8)
    assert parse.allowed == "an integer in [1, 8]"
    for value, expected in ((1, 1), (8, 8), (3.0, 3), ("4", 4), ("5.0", 5)):
        assert parse(value) == expected and type(parse(value)) is int


@pytest.mark.parametrize("value", [0, 9, 2.5, "2.5", True, "three", None, HUGE, -HUGE, math.nan])
def test_integer_rejects_fractions_bounds_and_non_numbers(value):
    rejects(integer(1, 8), value)


def test_choice_lowercases_strings_and_keeps_the_options_order_in_its_message():
    parse = choice("gru", "lstm", "cnn")
    assert parse.allowed == "one of gru, lstm, cnn"
    assert parse("LSTM") == "lstm" and parse("gru") == "gru"
    for value in ("transformer", "gru ", 1, None, ["gru"]):
        rejects(parse, value)


def test_boolean_takes_yaml_words_in_any_case_but_not_numbers():
    parse = boolean()
    assert parse.allowed == "true or false"
    for value, expected in [
        (True, True),
        (False, False),
        ("true", True),
        ("False", False),
        ("YES", True),
        ("no", False),
    ]:
        assert parse(value) is expected
    for value in (1, 0, "1", "on", None, "maybe"):
        rejects(parse, value)


def test_optional_passes_null_and_prefixes_null_to_what_is_allowed():
    inner = integer(1, 8)
    parse = optional(inner)
    assert parse.allowed == f"null or {inner.allowed}"
    assert parse(None) is None
    assert parse(4) == 4
    rejects(parse, 0)  # the message names null too, not only the inner range
    rejects(parse, "none")


def test_integer_tuple_takes_one_size_or_a_list_and_returns_a_tuple():
    parse = integer_tuple(1, 64, 3)
    assert parse.allowed == "a list of 1 to 3 integers in [1, 64]"
    assert parse(3) == (3,)
    assert parse("3") == (3,)
    assert parse([3, 4.0, "5"]) == (3, 4, 5)
    assert parse((2, 2)) == (2, 2)


@pytest.mark.parametrize("value", [[], [1, 2, 3, 4], [3, 0], [3, 65], [3, 2.5], True, None, {}])
def test_integer_tuple_rejects_with_the_whole_value_as_written(value):
    rejects(integer_tuple(1, 64, 3), value)


def test_layer_sizes_parser_keeps_an_integer_and_turns_a_list_into_a_tuple():
    parse = layer_sizes_parser(1, 4096, 8)
    assert parse.allowed == "an integer in [1, 4096] or a list of 1 to 8 of them (one per layer)"
    assert parse(64) == 64 and type(parse(64)) is int
    assert parse("64") == 64
    assert parse([128, 64]) == (128, 64)
    assert parse((32,)) == (32,)


@pytest.mark.parametrize("value", [0, 4097, [], list(range(1, 10)), [64, 0], [64, 32.5], True])
def test_layer_sizes_parser_rejects_bad_sizes_and_bad_lengths(value):
    rejects(layer_sizes_parser(1, 4096, 8), value)


def test_layer_sizes_repeats_an_integer_over_the_layers():
    assert layer_sizes(64, 3) == (64, 64, 64)
    assert layer_sizes(16, 1) == (16,)


def test_layer_sizes_takes_a_list_whose_length_is_num_layers():
    assert layer_sizes([128, 64], 2) == (128, 64)
    assert layer_sizes((8, 4, 2), 3) == (8, 4, 2)


def test_layer_sizes_refuses_a_num_layers_the_list_disagrees_with():
    with pytest.raises(SpaceError) as error:
        layer_sizes([128, 64], 3)
    assert str(error.value) == "num_layers: " + layer_conflict(3, [128, 64])


def test_layer_conflict_names_the_found_count_the_list_and_what_is_allowed():
    message = layer_conflict(3, (128, 64))
    assert message == (
        "found 3, but hidden_size [128, 64] sets 2 layers; allowed: 2, or no num_layers "
        "(a list of sizes sets the number of layers)"
    )
    assert "\n" not in message
