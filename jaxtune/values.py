"""Parsers of one hyperparameter's value: numbers with bounds, choices, booleans,
optional values, integer tuples and per-layer sizes. Each returns the value it accepts or
raises SpaceError with what is allowed (space.py's registry is built from them)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any


class SpaceError(ValueError):
    """A value that a hyperparameter does not allow; the message says what is allowed."""


def _number(value: Any, what: str) -> float:
    # YAML 1.1 reads `1e-3` (no dot) as a string; users write it that way all the time.
    number = value
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            number = None
    if isinstance(number, bool) or not isinstance(number, int | float) or not _finite(number):
        raise SpaceError(f"expected {what}, found {value!r}")  # as written: 'NaN', not nan
    return number


def _finite(value: int | float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond float range (YAML reads any digit string as an int)
        return False


def floating(low: float, high: float, *, low_open: bool = False, high_open: bool = False):
    lo, hi = ("(" if low_open else "["), (")" if high_open else "]")
    what = f"a number in {lo}{low:g}, {high:g}{hi}"

    def parse(value: Any) -> float:
        x = float(_number(value, what))
        if x < low or x > high or (low_open and x == low) or (high_open and x == high):
            raise SpaceError(f"expected {what}, found {value!r}")
        return x

    parse.allowed = what
    return parse


def integer(low: int, high: int):
    what = f"an integer in [{low}, {high}]"

    def parse(value: Any) -> int:
        x = _number(value, what)
        if float(x) != int(x) or not low <= int(x) <= high:
            raise SpaceError(f"expected {what}, found {value!r}")
        return int(x)

    parse.allowed = what
    return parse


def choice(*options: str):
    what = "one of " + ", ".join(options)

    def parse(value: Any) -> str:
        text = str(value).lower() if isinstance(value, str) else value
        if text not in options:
            raise SpaceError(f"expected {what}, found {value!r}")
        return text

    parse.allowed = what
    return parse


def text():
    what = "a string"

    def parse(value: Any) -> str:
        if not isinstance(value, str):
            raise SpaceError(f"expected {what}, found {value!r}")
        return value

    parse.allowed = what
    return parse


def boolean():
    what = "true or false"

    def parse(value: Any) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no"):
            return value.lower() in ("true", "yes")
        raise SpaceError(f"expected {what}, found {value!r}")

    parse.allowed = what
    return parse


def optional(parse_value: Callable[[Any], Any]):
    what = f"null or {parse_value.allowed}"

    def parse(value: Any):
        if value is None:
            return None
        try:
            return parse_value(value)
        except SpaceError:
            raise SpaceError(f"expected {what}, found {value!r}") from None

    parse.allowed = what
    return parse


def integer_tuple(low: int, high: int, max_items: int):
    what = f"a list of 1 to {max_items} integers in [{low}, {high}]"
    one = integer(low, high)

    def parse(value: Any) -> tuple[int, ...]:
        items = value
        if isinstance(value, int | float | str) and not isinstance(value, bool):
            items = [value]  # `filter_sizes: 3` is one size; messages show the value as written
        if not isinstance(items, list | tuple) or not 1 <= len(items) <= max_items:
            raise SpaceError(f"expected {what}, found {value!r}")
        try:
            return tuple(one(v) for v in items)
        except SpaceError:
            raise SpaceError(f"expected {what}, found {value!r}") from None

    parse.allowed = what
    return parse


def layer_sizes_parser(low: int, high: int, max_layers: int):
    """hidden_size: one size for every layer, or a list of per-layer sizes (bottom to top)."""
    one = integer(low, high)
    what = f"{one.allowed} or a list of 1 to {max_layers} of them (one per layer)"

    def parse(value: Any) -> int | tuple[int, ...]:
        try:
            if isinstance(value, list | tuple):
                if not 1 <= len(value) <= max_layers:
                    raise SpaceError(what)
                return tuple(one(v) for v in value)
            return one(value)
        except SpaceError:
            raise SpaceError(f"expected {what}, found {value!r}") from None

    parse.allowed = what
    return parse


def layer_sizes(hidden_size: int | tuple[int, ...], num_layers: int) -> tuple[int, ...]:
    """Each recurrent layer's hidden size, bottom to top.

    An integer hidden_size is every one of `num_layers` layers; a list sets both the
    sizes and the count, and a different `num_layers` is a SpaceError.
    """
    if isinstance(hidden_size, list | tuple):
        if num_layers != len(hidden_size):
            raise SpaceError(f"num_layers: {layer_conflict(num_layers, hidden_size)}")
        return tuple(hidden_size)
    return (hidden_size,) * num_layers


def layer_conflict(num_layers: Any, hidden_size: tuple[int, ...] | list[int]) -> str:
    """The message for a num_layers that disagrees with a per-layer hidden_size list."""
    sizes = "[" + ", ".join(str(h) for h in hidden_size) + "]"
    return (
        f"found {num_layers}, but hidden_size {sizes} sets {len(hidden_size)} layers; allowed: "
        f"{len(hidden_size)}, or no num_layers (a list of sizes sets the number of layers)"
    )
