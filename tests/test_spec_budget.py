"""spec/budget.py: the budget section's values, their defaults per backend, one-line errors."""

from __future__ import annotations

import dataclasses

import pytest

from jaxtune.space import MERGE_MODES
from jaxtune.spec.budget import DURATION_UNITS, KEYS, Budget, parse_budget
from jaxtune.spec.errors import Reader, SpecError


def parse(section):
    return parse_budget(Reader("s.yaml"), section)


def budget_error(section) -> str:
    with pytest.raises(SpecError) as error:
        parse(section)
    message = str(error.value)
    assert message.startswith("s.yaml: ") and "\n" not in message
    return message.removeprefix("s.yaml: ")


def test_a_missing_section_is_the_default_budget():
    assert parse(None) == Budget()
    assert parse({}) == Budget()


def test_every_budget_field_has_a_spec_key():
    assert tuple(field.name for field in dataclasses.fields(Budget)) == KEYS


def test_each_key_is_read_into_its_field():
    section = {
        "max_population": 16,
        "max_configs": 100,
        "max_memory_gb": 2.5,
        "chunk": 4,
        "devices": 2,
        "ask_batch": 3,
        "time_limit": "10m",
        "unroll": 8,
        "merge": "all",
    }
    expected = {**section, "time_limit": 600.0}
    assert dataclasses.asdict(parse(section)) == expected


def test_auto_max_population_is_narrow_on_cpu_and_wide_elsewhere():
    auto = Budget()
    assert auto.resolved_max_population("cpu") == 64
    assert auto.resolved_max_population("gpu") == 1024
    assert Budget(max_population=5).resolved_max_population("cpu") == 5
    assert Budget(max_population=5).resolved_max_population("gpu") == 5


def test_chunk_auto_is_one_config_on_cpu_and_the_whole_population_elsewhere():
    assert Budget().resolved_chunk("cpu") == 1
    assert Budget().resolved_chunk("gpu") is None
    assert Budget(chunk="all").resolved_chunk("cpu") is None
    assert Budget(chunk=3).resolved_chunk("gpu") == 3


def test_devices_auto_is_none_and_a_count_is_kept():
    assert Budget().resolved_devices() is None
    assert parse({"devices": 2}).resolved_devices() == 2


def test_chunk_takes_auto_all_or_an_integer():
    assert parse({"chunk": "all"}).chunk == "all"
    assert parse({"chunk": "auto"}).chunk == "auto"
    assert parse({"chunk": "8"}).chunk == 8  # a YAML string of digits


@pytest.mark.parametrize("value", [0, 1.5, True, None, "ALL", 1 << 21])
def test_a_bad_chunk_is_one_line_naming_what_is_allowed(value):
    assert budget_error({"chunk": value}) == (
        f"budget.chunk: expected auto, all or an integer in [1, 1048576], found {value!r}"
    )


@pytest.mark.parametrize("key", ["max_population", "devices"])
@pytest.mark.parametrize("value", [-1, 2.5, "AUTO", None, False, 1 << 21])
def test_max_population_and_devices_take_auto_or_a_positive_integer(key, value):
    assert budget_error({key: value}) == (
        f"budget.{key}: expected auto or an integer in [1, 1048576], found {value!r}"
    )


@pytest.mark.parametrize(
    ("key", "value", "allowed"),
    [
        ("max_configs", 0, "an integer in [1, 1073741824]"),
        ("max_configs", "auto", "an integer in [1, 1073741824]"),
        ("ask_batch", 0, "an integer in [1, 1048576]"),
        ("unroll", 0, "an integer in [1, 1024]"),
        ("unroll", 1025, "an integer in [1, 1024]"),
        ("max_memory_gb", 0, "null or a number in (0, 1e+06]"),
        ("merge", "some", "one of " + ", ".join(MERGE_MODES)),
    ],
)
def test_a_bad_value_names_the_key_the_value_and_what_is_allowed(key, value, allowed):
    assert budget_error({key: value}) == f"budget.{key}: expected {allowed}, found {value!r}"


def test_unknown_key_lists_every_budget_key():
    assert budget_error({"max_pop": 4}) == (
        f"budget.max_pop: unknown key; allowed: {', '.join(KEYS)}"
    )


def test_a_non_mapping_budget_is_one_line():
    assert budget_error([4]) == "budget: expected a mapping, found [4]"


def test_merge_is_read_in_any_case():
    assert parse({"merge": "ALL"}).merge == "all"


@pytest.mark.parametrize("unit", sorted(DURATION_UNITS))
def test_time_limit_units_multiply_seconds(unit):
    seconds = DURATION_UNITS[unit]
    assert parse({"time_limit": f"1.5{unit}"}).time_limit == 1.5 * seconds
    assert parse({"time_limit": f" 2{unit.upper()} "}).time_limit == 2 * seconds


def test_time_limit_number_is_seconds_and_null_is_none():
    assert parse({"time_limit": 0.5}).time_limit == 0.5
    assert parse({"time_limit": "30"}).time_limit == 30.0
    assert parse({"time_limit": None}).time_limit is None


@pytest.mark.parametrize("value", ["inf", "nan", "1e400", "-1m", "0h", "h", "", "2 hours", [30]])
def test_a_time_limit_that_is_not_a_positive_finite_duration_is_one_line(value):
    assert budget_error({"time_limit": value}) == (
        "budget.time_limit: expected null, seconds or a duration such as 90s, 45m, 2h, "
        f"found {value!r}"
    )
