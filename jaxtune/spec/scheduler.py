"""The spec's `scheduler:` section: Optuna's successive halving (asha) or hyperband pruner
run inside the population (schedulers/halving.py)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from jaxtune.distributions import (
    Distribution,
    DistributionError,
    check_distribution,
    entry_kind,
    read_distribution,
)
from jaxtune.schedulers.halving import Hyperband, SuccessiveHalving
from jaxtune.schedulers.pbt import MUTABLE, Mutation, PopulationBasedTraining
from jaxtune.space import HPARAMS, canonical_name
from jaxtune.spec.errors import Reader
from jaxtune.values import SpaceError, floating, integer

TYPES = ("asha", "hyperband", "pbt")
KEYS = {
    "asha": (
        "type",
        "min_resource",
        "reduction_factor",
        "min_early_stopping_rate",
        "bootstrap_count",
    ),
    "hyperband": ("type", "min_resource", "max_resource", "reduction_factor", "bootstrap_count"),
    "pbt": (
        "type",
        "perturbation_interval",
        "quantile_fraction",
        "resample_probability",
        "perturbation_factors",
        "hyperparam_mutations",
    ),
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
    read: Reader, section: Any, most_evaluations: int | None, name: str, seed: int = 0
) -> SuccessiveHalving | Hyperband | PopulationBasedTraining | None:
    """The scheduler, or None without the section.

    most_evaluations: the most evaluations a config's budget holds (None when evaluations
    come every train.eval_every steps): what Optuna's "auto" resources are estimated as.
    name: the sweep's name, which picks each config's hyperband bracket. seed: the
    sweep's, which seeds PBT's draws.
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

    if kind == "pbt":
        return _pbt(read, sched, seed)
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


def _pbt(read: Reader, sched: dict[str, Any], seed: int) -> PopulationBasedTraining:
    """Ray Tune's PopulationBasedTraining arguments; mutations as W&B parameter entries."""
    interval = sched.get("perturbation_interval")
    if interval is None:
        raise read.error(
            "scheduler.perturbation_interval",
            "missing; pbt needs it (evaluations between perturbations)",
        )
    interval = read.parse(integer(1, MOST), interval, "scheduler.perturbation_interval")
    fraction = read.parse(
        floating(0.0, 0.5), sched.get("quantile_fraction", 0.25), "scheduler.quantile_fraction"
    )
    resample = read.parse(
        floating(0.0, 1.0),
        sched.get("resample_probability", 0.25),
        "scheduler.resample_probability",
    )
    factors = sched.get("perturbation_factors", [1.2, 0.8])
    if not isinstance(factors, list) or not factors:
        raise read.error(
            "scheduler.perturbation_factors",
            f"expected a non-empty list of numbers, found {factors!r}",
        )
    factors = tuple(
        read.parse(floating(0.0, 1e6, low_open=True), f, f"scheduler.perturbation_factors[{i}]")
        for i, f in enumerate(factors)
    )
    section = sched.get("hyperparam_mutations")
    if not isinstance(section, Mapping) or not section:
        raise read.error(
            "scheduler.hyperparam_mutations",
            f"expected a mapping of the hyperparameters to perturb ({', '.join(MUTABLE)}), "
            f"found {section!r}",
        )
    mutations = tuple(_mutation(read, key, entry) for key, entry in section.items())
    return PopulationBasedTraining(interval, mutations, fraction, resample, factors, seed)


def _mutation(read: Reader, key: Any, entry: Any) -> Mutation:
    where = f"scheduler.hyperparam_mutations.{read.key(key)}"
    try:
        name = canonical_name(str(key))
    except SpaceError as error:
        raise read.error(where, str(error)) from None
    if name not in MUTABLE:
        raise read.error(where, f"pbt perturbs {', '.join(MUTABLE)}; found {name}")
    hparam = HPARAMS[name]
    if isinstance(entry, list):  # Ray's form: a list of values
        entry = {"values": entry}
    if not isinstance(entry, Mapping):
        raise read.error(where, f"expected a list of values or a distribution, found {entry!r}")
    try:
        kind = entry_kind(entry)
        if kind == "categorical":
            values = entry.get("values")
            if not isinstance(values, list) or not values:
                raise DistributionError("values", f"expected a non-empty list, found {values!r}")
            parsed = tuple(
                read.parse(hparam.parse, v, f"{where}.values[{i}]") for i, v in enumerate(values)
            )
            return Mutation(name, values=tuple(dict.fromkeys(parsed)))
        if kind == "constant":
            raise DistributionError("", "a constant cannot be perturbed; give values or a range")
        distribution = read_distribution(kind, entry)
        check_distribution(distribution, hparam)
    except DistributionError as error:
        raise read.error(f"{where}.{error.key}" if error.key else where, str(error)) from None
    return Mutation(name, distribution=distribution)
