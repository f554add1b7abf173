"""W&B Sweeps parameter distributions: read from a spec entry, checked against an hparam, drawn.

Names, keys, defaults and formulas follow W&B's sweep config schema and `params.py` in
wandb/sweeps: `int_uniform` includes both bounds, `q_*` return `round(X / q) * q` (an int
when q is written as an int), `log_uniform` / `q_log_uniform` / `inv_log_uniform` take
natural-log exponents as min and max, and the `*_values` forms take the values themselves.
jaxtune adds one guarantee W&B leaves to the training program: every drawn value passes
its hyperparameter's own check. Bounded distributions are checked when the spec is read;
the normal family (unbounded) is redrawn when a draw falls outside, so it is truncated.
"""

from __future__ import annotations

import dataclasses
import decimal
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from jaxtune.space import HParam
from jaxtune.values import SpaceError

_MIN_MAX = ("distribution", "min", "max")
_MU_SIGMA = ("distribution", "mu", "sigma")
# Keys each distribution takes (W&B's schema has additionalProperties: false). `baseline`
# is jaxtune's: the value a one_at_a_time study holds a hyperparameter at.
KEYS: dict[str, tuple[str, ...]] = {
    "constant": ("distribution", "value"),
    "categorical": ("distribution", "values", "probabilities", "baseline"),
    "categorical_w_probabilities": ("distribution", "values", "probabilities", "baseline"),
    "int_uniform": _MIN_MAX,
    "uniform": _MIN_MAX,
    "q_uniform": (*_MIN_MAX, "q"),
    "log_uniform": _MIN_MAX,
    "log_uniform_values": _MIN_MAX,
    "q_log_uniform": (*_MIN_MAX, "q"),
    "q_log_uniform_values": (*_MIN_MAX, "q"),
    "inv_log_uniform": _MIN_MAX,
    "inv_log_uniform_values": _MIN_MAX,
    "normal": _MU_SIGMA,
    "q_normal": (*_MU_SIGMA, "q"),
    "log_normal": _MU_SIGMA,
    "q_log_normal": (*_MU_SIGMA, "q"),
}
DISTRIBUTIONS = tuple(KEYS)
DISCRETE = ("constant", "categorical", "categorical_w_probabilities", "int_uniform", "q_uniform")
NORMAL_FAMILY = ("normal", "q_normal", "log_normal", "q_log_normal")
_POSITIVE_MIN = ("log_uniform_values", "q_log_uniform_values", "inv_log_uniform_values")
_EXPONENTS = ("log_uniform", "q_log_uniform", "inv_log_uniform")  # min/max are ln(X) bounds
MAX_GRID_VALUES = 10_000  # an int_uniform or q_uniform grid axis longer than this is an error
MAX_REDRAWS = 10_000  # draws in a row outside the hyperparameter's range before giving up


class DistributionError(ValueError):
    """A bad distribution; `key` is the entry key at fault ("" for the entry itself)."""

    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key = key


@dataclasses.dataclass(frozen=True)
class Distribution:
    """One hyperparameter's W&B distribution, as random search draws from it."""

    kind: str  # a W&B name from DISTRIBUTIONS; weighted value lists are "categorical"
    min: int | float | None = None
    max: int | float | None = None
    q: int | float | None = None  # quantization step of the q_ kinds (W&B default 1.0)
    mu: int | float = 0.0
    sigma: int | float = 1.0
    values: tuple = ()  # categorical: parsed values, repeats merged
    probabilities: tuple[float, ...] = ()  # categorical: one per value, summing to 1

    def __str__(self) -> str:
        if self.kind == "categorical":
            return (
                f"categorical(values={list(self.values)}, probabilities={list(self.probabilities)})"
            )
        names = KEYS[self.kind][1:]
        return f"{self.kind}({', '.join(f'{n}={getattr(self, n)!r}' for n in names)})"


def entry_kind(entry: Mapping) -> str:
    """The distribution of a parameters entry, inferred as W&B does when not named."""
    if "distribution" in entry:
        kind = entry["distribution"]
        if not isinstance(kind, str) or kind not in KEYS:
            raise DistributionError(
                "distribution", f"expected one of {', '.join(DISTRIBUTIONS)}, found {kind!r}"
            )
        return "categorical" if kind == "categorical_w_probabilities" else kind
    if "value" in entry and "values" in entry:
        raise DistributionError("", "expected exactly one of value, values")
    if "value" in entry:
        return "constant"
    if "values" in entry:
        return "categorical"
    if "min" in entry and "max" in entry:  # W&B: two ints are int_uniform, else uniform
        ints = all(type(entry[k]) is int for k in ("min", "max"))
        return "int_uniform" if ints else "uniform"
    raise DistributionError(
        "", f"expected value, values, min and max, or a distribution, found {dict(entry)!r}"
    )


def _finite(value: int | float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond float range
        return False


def _number(entry: Mapping, key: str, default: int | float | None, kind: str) -> int | float:
    if key not in entry:
        if default is None:
            needs = "min and max" if key in ("min", "max") else key
            raise DistributionError(key, f"missing; {kind} needs {needs}")
        return default
    value = number = entry[key]
    if isinstance(value, str):  # YAML 1.1 reads `1e-3` as a string
        try:
            number = float(value)
        except ValueError:
            number = None
    if isinstance(number, bool) or not isinstance(number, int | float) or not _finite(number):
        raise DistributionError(key, f"expected a number, found {value!r}")
    return number


def read_distribution(kind: str, entry: Mapping) -> Distribution:
    """A numeric distribution's parameters, checked as W&B's schema checks them."""
    if kind in NORMAL_FAMILY:
        low = high = None
        mu, sigma = _number(entry, "mu", 0.0, kind), _number(entry, "sigma", 1.0, kind)
        if sigma < 0:
            raise DistributionError("sigma", f"expected a number >= 0, found {entry['sigma']!r}")
    else:
        mu, sigma = 0.0, 1.0
        low, high = _number(entry, "min", None, kind), _number(entry, "max", None, kind)
        if kind == "int_uniform":
            for key, value in (("min", low), ("max", high)):
                if float(value) != int(value):
                    raise DistributionError(key, f"expected an integer, found {entry[key]!r}")
            low, high = int(low), int(high)
        if kind in _POSITIVE_MIN and low <= 0:
            raise DistributionError(
                "min", f"expected a number > 0 for {kind}, found {entry['min']!r}"
            )
        if not low < high:
            raise DistributionError(
                "min", f"{entry['min']!r} is not less than max {entry['max']!r}"
            )
    q = None
    if kind.startswith("q_"):
        q = _number(entry, "q", 1.0, kind)
        if q <= 0:
            raise DistributionError("q", f"expected a number > 0, found {entry['q']!r}")
    return Distribution(kind, low, high, q, mu, sigma)


def _decimals(step: int | float) -> int:
    """Decimal places of a number as written (0.1 -> 1, 1e-05 -> 5, 8 -> 0)."""
    return max(0, -int(decimal.Decimal(repr(step)).as_tuple().exponent))


def quantize(value: float, q: int | float) -> int | float:
    """W&B's round(value / q) * q, written with q's decimals (0.30000000000000004 -> 0.3)."""
    ratio = value / q
    if not math.isfinite(ratio):  # nothing finite to round (the check rejects it)
        return value
    steps = round(ratio)
    if isinstance(q, int):
        return int(steps) * q
    return round(steps * q, _decimals(q))


def _exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def value_range(dist: Distribution) -> tuple[float, float]:
    """The interval the unquantized draw falls in (before rounding to q); unbounded for
    the normal family."""
    if dist.kind in NORMAL_FAMILY:
        return -math.inf, math.inf
    if dist.kind in ("log_uniform", "q_log_uniform"):
        return _exp(dist.min), _exp(dist.max)
    if dist.kind == "inv_log_uniform":  # log(1/X) uniform in [min, max]
        return _exp(-dist.max), _exp(-dist.min)
    return float(dist.min), float(dist.max)


def numeric_kind(hparam: HParam) -> str | None:
    """ "int" or "float" for a numeric hyperparameter; None for choices, flags and lists."""
    if hparam.allowed.startswith(("an integer", "null or an integer")):
        return "int"
    if hparam.allowed.startswith(("a number", "null or a number")):
        return "float"
    return None


def check_distribution(dist: Distribution, hparam: HParam) -> None:
    """Fail unless every value `dist` can draw passes `hparam`'s check.

    The normal family is only checked at its center: draws outside are redrawn.
    """
    numeric = numeric_kind(hparam)
    if numeric is None:
        raise DistributionError(
            "distribution",
            f"{dist.kind} draws numbers; {hparam.name} takes {hparam.allowed}: use values",
        )
    if numeric == "int" and dist.kind != "int_uniform":
        if dist.q is None:
            raise DistributionError(
                "distribution",
                f"{dist.kind} draws fractional numbers; {hparam.name} takes {hparam.allowed}: "
                "use int_uniform, or a q_ distribution with an integer q",
            )
        if float(dist.q) != int(dist.q):
            raise DistributionError(
                "q", f"expected an integer q for {hparam.name} ({hparam.allowed}), found {dist.q!r}"
            )
    for key, value, shown in _checkpoints(dist):
        try:
            hparam.parse(value)
        except SpaceError:
            raise DistributionError(key, f"expected {hparam.allowed}, found {shown}") from None


def _checkpoints(dist: Distribution) -> list[tuple[str, Any, str]]:
    """(key, value, how the key gives the value) for the extreme values `dist` draws."""
    if dist.kind == "int_uniform":  # inclusive bounds
        return [("min", dist.min, repr(dist.min)), ("max", dist.max, repr(dist.max))]
    if dist.kind in ("normal", "q_normal"):
        points = [("mu", dist.mu, repr(dist.mu))]
    elif dist.kind in NORMAL_FAMILY:  # the median of a log-normal
        points = [("mu", _exp(dist.mu), f"exp({dist.mu!r}) = {_exp(dist.mu):g}")]
    else:
        # Draws fall strictly inside the interval (W&B reaches its ends with probability
        # zero), so the points checked are its ends nudged one float inward.
        low, high = value_range(dist)
        low, high = math.nextafter(low, high), math.nextafter(high, low)
        if dist.kind == "inv_log_uniform":  # the largest exponent gives the smallest value
            points = [
                ("max", low, f"exp({-dist.max!r}) = {low:g}"),
                ("min", high, f"exp({-dist.min!r}) = {high:g}"),
            ]
        elif dist.kind in _EXPONENTS:
            points = [
                ("min", low, f"exp({dist.min!r}) = {low:g}"),
                ("max", high, f"exp({dist.max!r}) = {high:g}"),
            ]
        else:
            points = [("min", low, repr(dist.min)), ("max", high, repr(dist.max))]
    if dist.q is None:
        return points
    return [
        (key, rounded, f"{shown}, which rounds to {rounded!r} at q {dist.q!r}")
        for key, value, shown in points
        for rounded in [quantize(value, dist.q)]
    ]


def largest_draw(dist: Distribution) -> tuple[str, Any, str]:
    """(key, value, how the key gives the value) for the largest number `dist` draws.

    For a numeric distribution (not categorical); inf for the normal family, which has
    no upper bound.
    """
    if dist.kind in NORMAL_FAMILY:
        return "distribution", math.inf, dist.kind
    return max(_checkpoints(dist), key=lambda point: point[1])


def grid_values(dist: Distribution) -> list:
    """The values W&B's grid search expands int_uniform and q_uniform to.

    int_uniform: every integer from min to max. q_uniform: numpy.arange(min, max, q), so
    max itself is left out (W&B's grid, unlike its random draws).
    """
    if dist.kind == "int_uniform":
        count = dist.max - dist.min + 1
    else:
        count = math.ceil((dist.max - dist.min) / dist.q)
    if count > MAX_GRID_VALUES:
        raise DistributionError(
            "", f"{dist} on a grid has {count} values; at most {MAX_GRID_VALUES}"
        )
    if dist.kind == "int_uniform":
        return list(range(dist.min, dist.max + 1))
    count = len(np.arange(dist.min, dist.max, dist.q))  # numpy's count, float error and all
    if all(isinstance(v, int) for v in (dist.min, dist.max, dist.q)):
        return [dist.min + i * dist.q for i in range(count)]
    places = max(_decimals(dist.min), _decimals(dist.q))
    return [round(dist.min + i * dist.q, places) for i in range(count)]


def draw(dist: Distribution, rng: np.random.Generator) -> Any:
    """One raw draw (Python int or float), before the hyperparameter's check."""
    kind = dist.kind
    if kind == "categorical":
        return dist.values[int(rng.choice(len(dist.values), p=dist.probabilities))]
    if kind == "int_uniform":
        return int(rng.integers(dist.min, dist.max, endpoint=True))
    if kind in NORMAL_FAMILY:
        value = float(rng.normal(dist.mu, dist.sigma))
        if kind in ("log_normal", "q_log_normal"):
            value = _exp(value)
    elif kind in ("log_uniform_values", "q_log_uniform_values", "inv_log_uniform_values"):
        value = _exp(float(rng.uniform(math.log(dist.min), math.log(dist.max))))
    else:
        low, high = (dist.min, dist.max) if kind != "inv_log_uniform" else (-dist.max, -dist.min)
        value = float(rng.uniform(low, high))
        if kind in _EXPONENTS:
            value = _exp(value)
    return value if dist.q is None else quantize(value, dist.q)


def draw_valid(dist: Distribution, parse: Callable[[Any], Any], rng: np.random.Generator) -> Any:
    """A draw that passes `parse` (the hyperparameter's check), redrawing the ones that fail."""
    for _ in range(MAX_REDRAWS):
        try:
            return parse(draw(dist, rng))
        except SpaceError:
            continue
    raise DistributionError(
        "", f"{MAX_REDRAWS} draws in a row from {dist} fell outside {parse.allowed}; narrow it"
    )
