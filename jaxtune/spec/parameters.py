"""The spec's parameters section as a search space: swept values, W&B distributions, baselines.

`read` is the spec's reader (errors.py): it knows the file name, so every error here is one
SpecError line naming the key path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jaxtune import space
from jaxtune.distributions import (
    DISCRETE,
    KEYS,
    Distribution,
    DistributionError,
    check_distribution,
    entry_kind,
    grid_values,
    read_distribution,
)
from jaxtune.space import HParam, canonical_name
from jaxtune.values import SpaceError, floating, layer_conflict

# W&B distributions with an Optuna equivalent (what method bayes accepts; see search/bayes.py).
BAYES_KINDS = ("uniform", "log_uniform_values", "log_uniform", "int_uniform", "q_uniform")


def parse_parameters(
    read, section: Any, fixed: dict, method: str
) -> tuple[dict[str, list[Any]], dict[str, Distribution], dict[str, Any]]:
    """Swept value lists, random-search distributions and explicit baselines, by hparam."""
    if section is None:
        return {}, {}, {}
    if not isinstance(section, Mapping):
        raise read.error("parameters", f"expected a mapping of hyperparameters, found {section!r}")
    swept, distributions, baselines = {}, {}, {}
    for key, entry in section.items():
        where = f"parameters.{read.key(key)}"
        try:
            canonical = canonical_name(str(key), read.modules)
        except SpaceError as error:
            raise read.error(where, str(error)) from None
        if canonical in fixed or canonical in swept or canonical in distributions:
            raise read.error(where, f"{canonical!r} is set twice (model, train or parameters)")
        hparam = space.hparam(canonical)
        if not isinstance(entry, Mapping):  # shorthand: `dropout: 0.1`
            fixed[canonical] = read.parse(hparam.parse, entry, where)
            continue
        explicit = "distribution" in entry
        try:
            kind = entry_kind(entry)
            for name in entry:
                if name not in KEYS[kind]:
                    raise DistributionError(
                        read.key(name), f"unknown key for {kind}; allowed: {', '.join(KEYS[kind])}"
                    )
            if kind == "constant":
                if "value" not in entry:
                    raise DistributionError("value", "missing; constant needs value")
                fixed[canonical] = read.parse(hparam.parse, entry["value"], f"{where}.value")
            elif kind == "categorical":
                values, weights = _values(read, entry, where, hparam, method)
                if "baseline" in entry:
                    baselines[canonical] = _baseline(read, entry["baseline"], values, where, hparam)
                if weights is None:
                    swept[canonical] = values
                else:
                    distributions[canonical] = Distribution(
                        "categorical", values=tuple(values), probabilities=weights
                    )
            elif method == "bayes" and kind not in BAYES_KINDS:
                found = kind if explicit else f"{kind} (from min and max)"
                raise DistributionError(
                    "distribution",
                    f"found {found} under method bayes; bayes takes value, values, "
                    f"{', '.join(BAYES_KINDS)}",
                )
            elif method in ("random", "bayes"):
                distribution = read_distribution(kind, entry)
                check_distribution(distribution, hparam)
                distributions[canonical] = distribution
            elif kind in DISCRETE:  # W&B's grid expands int_uniform and q_uniform
                distribution = read_distribution(kind, entry)
                swept[canonical] = _grid_axis(read, distribution, where, hparam)
            else:
                found = kind if explicit else f"{kind} (from min and max)"
                raise DistributionError(
                    "distribution",
                    f"found {found} under method {method}; {method} takes value, values, "
                    "int_uniform or q_uniform (other distributions need method random)",
                )
        except DistributionError as error:
            at = error.key if explicit or error.key != "distribution" else ""
            raise read.error(f"{where}.{at}" if at else where, str(error)) from None
    return swept, distributions, baselines


def _values(read, entry: Mapping, where: str, hparam: HParam, method: str):
    """The parsed values with repeats merged, and their weights when random draws unevenly.

    W&B draws each listed value with equal chance (so a repeated value counts twice) or
    with the listed `probabilities`; grid and one_at_a_time take each distinct value once.
    """
    if "values" not in entry:
        raise read.error(f"{where}.values", "missing; categorical needs values")
    values = entry["values"]
    if not isinstance(values, list) or not values:
        raise read.error(f"{where}.values", f"expected a non-empty list, found {values!r}")
    parsed = [read.parse(hparam.parse, v, f"{where}.values[{i}]") for i, v in enumerate(values)]
    if "probabilities" in entry:
        if method != "random":
            raise read.error(
                f"{where}.probabilities",
                f"found under method {method}; probabilities weight the draws of method random",
            )
        weights = _probabilities(
            read, entry["probabilities"], len(parsed), f"{where}.probabilities"
        )
    elif method == "random" and len(set(parsed)) < len(parsed):
        weights = [1.0 / len(parsed)] * len(parsed)
    else:
        return list(dict.fromkeys(parsed)), None  # drop repeats, keep order
    totals: dict[Any, float] = {}
    for value, weight in zip(parsed, weights, strict=True):
        totals[value] = totals.get(value, 0.0) + weight
    if len(set(totals.values())) == 1:  # even after all: a plain list
        return list(totals), None
    total = sum(totals.values())
    return list(totals), tuple(w / total for w in totals.values())


def _probabilities(read, value: Any, count: int, where: str) -> list[float]:
    what = f"a list of {count} numbers >= 0, one per value"
    if not isinstance(value, list) or len(value) != count:
        raise read.error(where, f"expected {what}, found {value!r}")
    try:
        weights = [floating(0.0, 1.0)(p) for p in value]
    except SpaceError:
        raise read.error(where, f"expected {what}, found {value!r}") from None
    total = sum(weights)
    if abs(total - 1.0) > 1e-8 + 1e-5:  # numpy.isclose, as W&B checks
        raise read.error(where, f"expected probabilities that sum to 1, found a sum of {total:g}")
    return weights


def _baseline(read, value: Any, values: list, where: str, hparam: HParam) -> Any:
    baseline = read.parse(hparam.parse, value, f"{where}.baseline")
    if baseline not in values:
        raise read.error(
            f"{where}.baseline",
            f"expected one of the values {', '.join(str(v) for v in values)}, found {value!r}",
        )
    return baseline


def _grid_axis(read, distribution: Distribution, where: str, hparam: HParam) -> list[Any]:
    values = []
    for value in grid_values(distribution):
        try:
            values.append(hparam.parse(value))
        except SpaceError:
            raise read.error(
                where, f"expected {hparam.allowed}, found {value!r} in the grid of {distribution}"
            ) from None
    return list(dict.fromkeys(values))


def check_layer_counts(
    read,
    document: Mapping,
    fixed: Mapping[str, Any],
    swept: Mapping[str, list[Any]],
    distributions: Mapping[str, Distribution],
    named: Mapping[str, Mapping[str, Any]],
) -> None:
    """A per-layer hidden_size list sets num_layers: an explicit num_layers must agree.

    Every value either can take is checked against every value of the other (a grid or
    a draw may pair any of them), and each named config on its own. The error names the
    key that set num_layers.
    """
    sections = [("model", document.get("model")), ("parameters", document.get("parameters"))]
    lists = [
        v for v in sweep_choices("hidden_size", fixed, swept, distributions) if isinstance(v, tuple)
    ]
    for hidden_size in lists:
        for num_layers in sweep_choices("num_layers", fixed, swept, distributions):
            if num_layers != len(hidden_size):  # a numeric distribution is never equal
                where = written_key(read, sections, "num_layers")
                raise read.error(where, layer_conflict(num_layers, hidden_size))
    configs = document.get("configs")
    for name, values in named.items():
        config = {**fixed, **values}
        hidden_size, num_layers = config.get("hidden_size"), config.get("num_layers")
        if isinstance(hidden_size, tuple) and num_layers not in (None, len(hidden_size)):
            own = [(f"configs.{read.key(name)}", configs[name])] if "num_layers" in values else []
            where = written_key(read, own + sections, "num_layers")
            raise read.error(where, layer_conflict(num_layers, hidden_size))


def sweep_choices(name: str, fixed, swept, distributions) -> list[Any]:
    """The values NAME can take in the sweep ([] when left at its default)."""
    if name in fixed:
        return [fixed[name]]
    if name in swept:
        return list(swept[name])
    if name in distributions:
        dist = distributions[name]
        return list(dist.values) if dist.kind == "categorical" else [dist]
    return []


def written_key(read, sections: list[tuple[str, Any]], canonical: str) -> str:
    """The key path that set a hyperparameter, as the user spelled it (an alias, say)."""
    for prefix, section in sections:
        for key in section if isinstance(section, Mapping) else ():
            try:
                if canonical_name(str(key), read.modules) == canonical:
                    return f"{prefix}.{read.key(key)}"
            except SpaceError:
                continue
    return canonical
