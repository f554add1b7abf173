"""The spec's `scheduler:` section: Optuna's successive halving (asha) or hyperband pruner
run inside the population (schedulers/halving.py)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from jaxtune.distributions import Distribution
from jaxtune.schedulers.halving import Hyperband, SuccessiveHalving
from jaxtune.space import HPARAMS
from jaxtune.spec.errors import Reader
from jaxtune.values import integer

TYPES = ("asha", "hyperband")
KEYS = {
    "asha": (
        "type",
        "min_resource",
        "reduction_factor",
        "min_early_stopping_rate",
        "bootstrap_count",
    ),
    "hyperband": ("type", "min_resource", "max_resource", "reduction_factor", "bootstrap_count"),
}
MOST = 1 << 20


def most_epochs(
    fixed: Mapping[str, Any],
    parameters: Mapping[str, list],
    distributions: Mapping[str, Distribution],
    named: Iterable[Mapping[str, Any]],
) -> int:
    """The most epochs any config of the space trains for."""
    if "epochs" in fixed:
        found = [fixed["epochs"]]
    else:
        found = list(parameters.get("epochs", []))
        if "epochs" in distributions:
            distribution = distributions["epochs"]
            found += [distribution.max] if distribution.max is not None else []
            found += list(distribution.values)
        found += [config["epochs"] for config in named if "epochs" in config]
    return int(max(found, default=HPARAMS["epochs"].default))


def parse_scheduler(
    read: Reader, section: Any, most_evaluations: int | None, name: str
) -> SuccessiveHalving | Hyperband | None:
    """The scheduler, or None without the section.

    most_evaluations: the most evaluations a config's budget holds (None when evaluations
    come every train.eval_every steps): what Optuna's "auto" resources are estimated as.
    name: the sweep's name, which picks each config's hyperband bracket.
    """
    if section is None:
        return None
    if not isinstance(section, Mapping):
        raise read.error("scheduler", f"expected a mapping with type, found {section!r}")
    kind = read.choice(section.get("type"), "scheduler.type", TYPES)
    sched = read.mapping(section, "scheduler", KEYS[kind])

    def number(key: str, default: int, low: int = 1) -> int:
        return read.parse(integer(low, MOST), sched.get(key, default), f"scheduler.{key}")

    def resource(key: str, default: Any) -> int:
        value = sched.get(key, default)
        if value != "auto":
            return number(key, default)
        if most_evaluations is None:
            raise read.error(
                f"scheduler.{key}",
                "auto is the most evaluations a config runs, unknown with train.eval_every; "
                "give an integer",
            )
        # Optuna's estimates: the longest trial's steps, and a hundredth of them.
        return most_evaluations if key == "max_resource" else max(most_evaluations // 100, 1)

    if kind == "asha":
        return SuccessiveHalving(
            min_resource=resource("min_resource", "auto"),
            reduction_factor=number("reduction_factor", 4, 2),
            min_early_stopping_rate=number("min_early_stopping_rate", 0, 0),
            bootstrap_count=number("bootstrap_count", 0, 0),
        )
    min_resource = number("min_resource", 1)
    max_resource = resource("max_resource", "auto")
    if max_resource < min_resource:
        raise read.error(
            "scheduler.max_resource",
            f"expected at least min_resource ({min_resource}), found {max_resource}",
        )
    return Hyperband(
        min_resource=min_resource,
        max_resource=max_resource,
        reduction_factor=number("reduction_factor", 3, 2),
        bootstrap_count=number("bootstrap_count", 0, 0),
        study_name=name,
    )
