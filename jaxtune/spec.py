"""The sweep spec: YAML in W&B Sweeps' shape plus jaxtune's sections, validated before any compile.

Every problem is one `SpecError` line: the file, the key path, what was found and
what is allowed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from jaxtune.data.section import DataSpec, parse_data_section
from jaxtune.data.widths import fit_data_width, requested_lengths
from jaxtune.distributions import Distribution
from jaxtune.embedding_rows import MODES
from jaxtune.schedulers import MONITORS, EarlyStopping
from jaxtune.search_space import check_layer_counts, parse_parameters
from jaxtune.space import (
    HPARAMS,
    SpaceError,
    boolean,
    canonical_name,
    floating,
    integer,
    optional,
)

METHODS = ("grid", "random", "one_at_a_time", "greedy", "bayes")
GOALS = ("maximize", "minimize")
# Optuna samplers that method bayes can drive with batched ask/tell (names in optuna.samplers).
OPTUNA_SAMPLERS = (
    "TPESampler",
    "RandomSampler",
    "CmaEsSampler",
    "GPSampler",
    "QMCSampler",
    "NSGAIISampler",
)
# Metric names W&B's docs and Keras logs use for the ones jaxtune reports.
METRIC_ALIASES = {
    "validation_loss": "val_loss",
    "val_acc": "val_accuracy",
    "validation_accuracy": "val_accuracy",
}
TOP_LEVEL = (
    "name",
    "description",
    "method",
    "metric",
    "parameters",
    "run_cap",
    "optuna",
    "configs",
    "model",
    "data",
    "train",
    "budget",
    "seed",
)
DEFAULT_RUN_CAP = 32  # configs of method random or bayes when neither run_cap nor a cap is set
IGNORED = ("program", "command", "entity", "project")  # W&B launch keys: jaxtune is the launcher


class SpecError(ValueError):
    """A spec problem, as one line the user can act on."""


CLASS_WEIGHTS = ("none", "balanced")


@dataclasses.dataclass(frozen=True)
class TrainSpec:
    early_stopping: EarlyStopping = EarlyStopping()
    eval_batch_size: int = 256
    max_loss: float | None = 100.0  # a minibatch loss above this marks the config FAILED
    # Loss weight per class: "none", "balanced" (n / (C * count), from the training labels)
    # or one weight per class in label order.
    class_weights: str | tuple[float, ...] = "none"
    # Epochs between snapshots of a training population (snapshots.py), which let
    # `jaxtune resume` continue a killed sweep exactly; None turns them off.
    checkpoint_every: int | None = 1
    eval_every: int | None = None  # optimizer steps between evaluations; None: every epoch
    max_steps: int | None = None  # every config's step budget instead of its epochs
    # "dense" (every row of the embedding table and its optimizer state, every step) or
    # "lazy" (only the batch's rows: faster for small models, changes the math;
    # embedding_rows.py).
    embedding_update: str = "dense"


@dataclasses.dataclass(frozen=True)
class Budget:
    # Widest population trained as one program: an integer, or "auto" (64 on a CPU, where
    # a population runs a chunk of configs at a time and wider ones gain nothing; 1024
    # elsewhere, to fill an accelerator). The memory budget may cut it further.
    max_population: int | str = "auto"
    max_configs: int | None = None
    max_memory_gb: float | None = None  # population widths fit in this; default half the RAM
    # Configs computed together in each step of a population: an integer, "all" (one vmap
    # over the population) or "auto" (1 on CPU, where cache-resident kernels win; all
    # elsewhere). Never changes results, only speed and memory.
    chunk: int | str = "auto"
    # Devices the config axis is split over: "auto" (every local device: on a CPU one per
    # core) or a count; a population of K uses gcd(K, devices). Never changes results.
    devices: int | str = "auto"
    ask_batch: int = 8  # method bayes: configs asked from the sampler per round
    # Wall seconds for the sweep: at the first evaluation past it, every config in
    # training stops (its best evaluation kept) and no further population starts.
    time_limit: float | None = None
    # Timesteps per iteration of the recurrent scans (lax.scan's unroll): fewer loop
    # iterations for larger programs. Never changes results, only speed and compile time.
    unroll: int = 1

    def resolved_max_population(self, backend: str) -> int:
        if self.max_population == "auto":
            return 64 if backend == "cpu" else 1024
        return self.max_population

    def resolved_chunk(self, backend: str) -> int | None:
        if self.chunk == "auto":
            return 1 if backend == "cpu" else None
        return None if self.chunk == "all" else self.chunk

    def resolved_devices(self) -> int | None:
        return None if self.devices == "auto" else self.devices


@dataclasses.dataclass(frozen=True)
class SweepSpec:
    path: str
    name: str
    method: str
    metric: str
    goal: str
    seed: int
    fixed: dict[str, Any]  # canonical hparam name -> value
    parameters: dict[str, list[Any]]  # canonical hparam name -> values to sweep, in spec order
    data: DataSpec
    train: TrainSpec
    budget: Budget
    notices: tuple[str, ...] = ()
    # method random only: hyperparameters drawn from a W&B distribution (numeric, or values
    # with probabilities); disjoint from `parameters`, whose lists random draws uniformly.
    distributions: dict[str, Distribution] = dataclasses.field(default_factory=dict)
    # one_at_a_time: each swept hyperparameter's value while another one varies
    baselines: dict[str, Any] = dataclasses.field(default_factory=dict)
    run_cap: int | None = None  # W&B's cap on the number of runs (configs)
    optuna_sampler: str = "TPESampler"  # method bayes: a class name in optuna.samplers
    # Named configs (name -> hyperparameters over `fixed`), run exactly as listed.
    named: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)


def _key(name: Any) -> str:
    """A user's key as it appears in a key path; odd ones (spaces, newlines, non-strings) quoted."""
    if isinstance(name, str) and name and name.isprintable() and " " not in name:
        return name
    return repr(name)


class _Reader:
    """Validation helpers that know the file name for their messages."""

    def __init__(self, path: str):
        self.path = path

    key = staticmethod(_key)

    def error(self, key: str, message: str) -> SpecError:
        return SpecError(f"{self.path}: {key}: {message}" if key else f"{self.path}: {message}")

    def mapping(self, value: Any, key: str, allowed: tuple[str, ...] | None) -> dict:
        """A mapping whose keys are all in `allowed` (any keys when `allowed` is None)."""
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise self.error(key, f"expected a mapping, found {value!r}")
        for name in value if allowed is not None else ():
            if name not in allowed:
                raise self.error(
                    f"{key}.{_key(name)}" if key else _key(name),
                    f"unknown key; allowed: {', '.join(allowed)}",
                )
        return dict(value)

    def parse(self, parse, value: Any, key: str):
        try:
            return parse(value)
        except SpaceError as error:
            raise self.error(key, str(error)) from None

    def choice(self, value: Any, key: str, options: tuple[str, ...]) -> str:
        if value not in options:
            raise self.error(key, f"expected one of {', '.join(options)}, found {value!r}")
        return value

    def hparam(self, name: Any, value: Any, key: str):
        try:
            canonical = canonical_name(str(name))
        except SpaceError as error:
            raise self.error(key, str(error)) from None
        return canonical, self.parse(HPARAMS[canonical].parse, value, key)


def load_spec(path: str | Path) -> SweepSpec:
    """Read and validate a spec file; raises SpecError naming what is wrong."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise SpecError(f"{path}: cannot read: {error}") from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise SpecError(f"{path}: {where}invalid YAML: {problem}") from None
    return parse_spec(document, str(path))


def parse_spec(document: Any, path: str = "<spec>") -> SweepSpec:
    read = _Reader(path)
    if not isinstance(document, Mapping):
        raise read.error("", f"expected a YAML mapping at the top level, found {document!r}")
    notices = []
    for key in IGNORED:
        if key in document:
            notices.append(f"{path}: {key}: ignored (jaxtune runs the sweep itself)")
    document = {k: v for k, v in document.items() if k not in IGNORED}
    top = read.mapping(document, "", TOP_LEVEL)

    name = top.get("name", Path(path).stem)
    if not isinstance(name, str) or name in ("", ".", "..") or "/" in name:
        raise read.error("name", f"expected a directory name without '/', found {name!r}")
    method = read.choice(top.get("method", "grid"), "method", METHODS)
    seed = read.parse(integer(0, 2**31 - 1), top.get("seed", 0), "seed")

    metric = read.mapping(top.get("metric"), "metric", ("name", "goal"))
    metric_name = read.choice(
        _metric_name(metric.get("name", "val_accuracy")), "metric.name", tuple(MONITORS)
    )
    default_goal = "maximize" if MONITORS[metric_name] == "max" else "minimize"
    goal = read.choice(metric.get("goal", default_goal), "metric.goal", GOALS)

    fixed = {}
    model = read.mapping(top.get("model"), "model", None)
    model_keys = {}  # canonical name -> the key that set it (`units` and `hidden_size` clash)
    for key, value in model.items():
        canonical, parsed = read.hparam(key, value, f"model.{_key(key)}")
        if canonical in model_keys:
            raise read.error(
                f"model.{_key(key)}",
                f"{canonical!r} is already set by model.{_key(model_keys[canonical])}",
            )
        model_keys[canonical] = key
        fixed[canonical] = parsed

    train_section = read.mapping(
        top.get("train"),
        "train",
        (
            "epochs",
            "early_stopping",
            "eval_batch_size",
            "max_loss",
            "class_weights",
            "checkpoint_every",
            "eval_every",
            "max_steps",
            "embedding_update",
        ),
    )
    if "epochs" in train_section:
        if "epochs" in fixed:
            raise read.error("train.epochs", "'epochs' is set twice (model and train)")
        fixed["epochs"] = read.parse(
            HPARAMS["epochs"].parse, train_section["epochs"], "train.epochs"
        )
    train = TrainSpec(
        early_stopping=_early_stopping(read, train_section.get("early_stopping"), metric_name),
        eval_batch_size=read.parse(
            integer(1, 65536), train_section.get("eval_batch_size", 256), "train.eval_batch_size"
        ),
        max_loss=read.parse(
            optional(floating(0.0, 1e30, low_open=True)),
            train_section.get("max_loss", 100.0),
            "train.max_loss",
        ),
        class_weights=_class_weights(read, train_section.get("class_weights", "none")),
        checkpoint_every=read.parse(
            optional(integer(1, 100_000)),
            train_section.get("checkpoint_every", 1),
            "train.checkpoint_every",
        ),
        eval_every=_eval_every(read, train_section.get("eval_every", "epoch")),
        max_steps=read.parse(
            optional(integer(1, 1 << 30)), train_section.get("max_steps"), "train.max_steps"
        ),
        embedding_update=read.choice(
            train_section.get("embedding_update", "dense"), "train.embedding_update", MODES
        ),
    )

    parameters, distributions, baselines = parse_parameters(
        read, top.get("parameters"), fixed, method
    )
    if train.max_steps is not None and any(
        "epochs" in d for d in (fixed, parameters, distributions)
    ):
        raise read.error(
            "train.max_steps", "a config's budget is epochs or max_steps, not both; remove one"
        )
    named = _named_configs(read, top.get("configs"))
    if named and (parameters or distributions):
        raise read.error(
            "configs",
            "named configs run as listed; remove parameters (put shared values under model)",
        )
    if named and method != "grid":
        raise read.error("configs", f"named configs run as listed; found method {method}")
    check_layer_counts(read, top, fixed, parameters, distributions, named)
    data = parse_data_section(top.get("data"), path)
    data = fit_data_width(
        data,
        requested_lengths(
            fixed,
            parameters,
            distributions,
            named,
            fixed_key=_written_key(top, "max_length", "model"),
            swept_key=_written_key(top, "max_length", "parameters"),
        ),
        given=isinstance(top.get("data"), Mapping) and "max_length" in top["data"],
        error=read.error,
    )
    raw_embedding = (
        (top.get("data") or {}).get("embedding") if isinstance(top.get("data"), Mapping) else None
    )
    if isinstance(raw_embedding, Mapping) and "trainable" in raw_embedding:
        # `data.embedding.trainable` is the dynamic hparam embedding_trainable, swept or fixed.
        if any("embedding_trainable" in d for d in (fixed, parameters, distributions)):
            raise read.error(
                "data.embedding.trainable",
                "'embedding_trainable' is set twice (data.embedding and model or parameters)",
            )
        flags = list(data.embedding_trainable)
        if len(flags) == 1:
            fixed["embedding_trainable"] = flags[0]
        else:
            parameters["embedding_trainable"] = flags
    budget_section = read.mapping(
        top.get("budget"),
        "budget",
        (
            "max_population",
            "max_configs",
            "max_memory_gb",
            "chunk",
            "devices",
            "ask_batch",
            "time_limit",
            "unroll",
        ),
    )
    chunk = budget_section.get("chunk", "auto")
    if chunk not in ("auto", "all"):
        try:
            chunk = integer(1, 1 << 20)(chunk)
        except SpaceError:
            raise read.error(
                "budget.chunk", f"expected auto, all or an integer in [1, 1048576], found {chunk!r}"
            ) from None
    devices = budget_section.get("devices", "auto")
    if devices != "auto":  # checked against the machine when the sweep runs (sweep.py)
        try:
            devices = integer(1, 1 << 20)(devices)
        except SpaceError:
            raise read.error(
                "budget.devices",
                f"expected auto or an integer in [1, 1048576], found {devices!r}",
            ) from None
    budget = Budget(
        max_population=_auto_or(
            read,
            integer(1, 1 << 20),
            budget_section.get("max_population", "auto"),
            "budget.max_population",
        ),
        max_configs=None
        if budget_section.get("max_configs") is None
        else read.parse(integer(1, 1 << 30), budget_section["max_configs"], "budget.max_configs"),
        max_memory_gb=read.parse(
            optional(floating(0.0, 1e6, low_open=True)),
            budget_section.get("max_memory_gb"),
            "budget.max_memory_gb",
        ),
        chunk=chunk,
        devices=devices,
        ask_batch=read.parse(
            integer(1, 1 << 20), budget_section.get("ask_batch", 8), "budget.ask_batch"
        ),
        time_limit=_duration(read, budget_section.get("time_limit"), "budget.time_limit"),
        unroll=read.parse(integer(1, 1024), budget_section.get("unroll", 1), "budget.unroll"),
    )
    optuna_section = read.mapping(top.get("optuna"), "optuna", ("sampler",))
    sampler = optuna_section.get("sampler", "TPESampler")
    if sampler not in OPTUNA_SAMPLERS:
        raise read.error(
            "optuna.sampler", f"expected one of {', '.join(OPTUNA_SAMPLERS)}, found {sampler!r}"
        )
    run_cap = top.get("run_cap")
    if run_cap is not None:
        run_cap = read.parse(integer(1, 1 << 30), run_cap, "run_cap")
    elif method in ("random", "bayes") and budget.max_configs is None:
        # W&B draws until the sweep is stopped; jaxtune plans a fixed number.
        run_cap = DEFAULT_RUN_CAP
        notices.append(
            f"{path}: run_cap: missing; method {method} draws {DEFAULT_RUN_CAP} configs (set "
            "run_cap, or add more later with `jaxtune resume DIR --n-more N`)"
        )
    if method == "greedy":
        if not parameters:
            raise read.error(
                "parameters",
                "method greedy needs at least one hyperparameter with values to tune",
            )
        if run_cap is not None:
            notices.append(
                f"{path}: run_cap: ignored by method greedy (it trains each iteration's values)"
            )
    spec = SweepSpec(
        path=path,
        name=name,
        method=method,
        metric=metric_name,
        goal=goal,
        seed=seed,
        fixed=fixed,
        parameters=parameters,
        data=data,
        train=train,
        budget=budget,
        notices=tuple(notices),
        distributions=distributions,
        baselines={name: baselines.get(name, values[0]) for name, values in parameters.items()},
        run_cap=run_cap,
        optuna_sampler=sampler,
        named=named,
    )
    return spec


def _auto_or(read: _Reader, parse, value: Any, key: str) -> int | str:
    """ "auto", or a value `parse` accepts."""
    if value == "auto":
        return value
    try:
        return parse(value)
    except SpaceError:
        raise read.error(key, f"expected auto or {parse.allowed}, found {value!r}") from None


def _metric_name(name: Any) -> Any:
    return METRIC_ALIASES.get(name, name) if isinstance(name, str) else name


def _early_stopping(read: _Reader, section: Any, metric_name: str) -> EarlyStopping:
    where = "train.early_stopping"
    section = read.mapping(section, where, ("monitor", "patience", "min_delta", "restore_best"))
    patience = section.get("patience")
    return EarlyStopping(
        monitor=read.choice(
            _metric_name(section.get("monitor", metric_name)), f"{where}.monitor", tuple(MONITORS)
        ),
        patience=None
        if patience is None
        else read.parse(integer(1, 100000), patience, f"{where}.patience"),
        min_delta=read.parse(
            floating(0.0, 1e9), section.get("min_delta", 0.0), f"{where}.min_delta"
        ),
        restore_best=read.parse(
            boolean(), section.get("restore_best", True), f"{where}.restore_best"
        ),
    )


def _named_configs(read: _Reader, section: Any) -> dict[str, dict[str, Any]]:
    """`configs: {NAME: {hparam: value, ...}}`: each named config's hyperparameters."""
    section = read.mapping(section, "configs", None)
    named = {}
    for name, values in section.items():
        where = f"configs.{_key(name)}"
        if not isinstance(name, str) or not name.strip() or not name.isprintable():
            raise read.error(where, f"expected a config name, found {name!r}")
        values = read.mapping(values, where, None)
        named[name] = {}
        for key, value in values.items():
            canonical, parsed = read.hparam(key, value, f"{where}.{_key(key)}")
            if canonical in named[name]:
                raise read.error(f"{where}.{_key(key)}", f"{canonical!r} is set twice")
            named[name][canonical] = parsed
    return named


def _class_weights(read: _Reader, value: Any) -> str | tuple[float, ...]:
    if value in CLASS_WEIGHTS:
        return value
    what = f"{', '.join(CLASS_WEIGHTS)} or a list of positive weights, one per class"
    if not isinstance(value, list) or not value:
        raise read.error("train.class_weights", f"expected {what}, found {value!r}")
    try:
        return tuple(floating(0.0, 1e6, low_open=True)(v) for v in value)
    except SpaceError:
        raise read.error("train.class_weights", f"expected {what}, found {value!r}") from None


def _eval_every(read: _Reader, value: Any) -> int | None:
    """train.eval_every: "epoch" (None) or a number of optimizer steps."""
    if value == "epoch":
        return None
    steps = integer(1, 1 << 30)
    try:
        return steps(value)
    except SpaceError:
        raise read.error(
            "train.eval_every", f"expected epoch or {steps.allowed}, found {value!r}"
        ) from None


def _written_key(top: Mapping, name: str, default_section: str) -> str:
    """The spec key, as written (an alias, a `value:` entry), that sets hparam `name`."""
    for section in ("model", "parameters"):
        entries = top.get(section)
        for key, entry in entries.items() if isinstance(entries, Mapping) else ():
            if canonical_name(str(key)) == name:
                where = f"{section}.{_key(key)}"
                if section == "parameters" and isinstance(entry, Mapping) and "value" in entry:
                    return f"{where}.value"
                return where
    return f"{default_section}.{name}"


DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _duration(read: _Reader, value: Any, key: str) -> float | None:
    """Seconds from a number or a string such as "90s", "45m", "2h", "1.5d"; null: none."""
    if value is None:
        return None
    text = str(value).strip().lower()
    number, unit = (text[:-1], text[-1]) if text[-1:] in DURATION_UNITS else (text, "s")
    try:
        seconds = float(number) * DURATION_UNITS[unit]
    except ValueError:
        seconds = None
    if isinstance(value, bool) or seconds is None or not 0 < seconds < float("inf"):
        raise read.error(
            key,
            f"expected null, seconds or a duration such as 90s, 45m, 2h, found {value!r}",
        )
    return seconds
