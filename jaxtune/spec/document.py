"""The whole spec: YAML in W&B Sweeps' shape plus jaxtune's sections, read section by section.

Every problem is one `SpecError` line: the file, the key path, what was found and what is
allowed. The data's own facts are applied later, once the data is loaded (`resolve.py`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from jaxtune.distributions import Distribution
from jaxtune.schedulers.early_terminate import HyperbandStopping
from jaxtune.schedulers.halving import Hyperband, SuccessiveHalving
from jaxtune.schedulers.pbt import PopulationBasedTraining
from jaxtune.space import HPARAMS, canonical_name, user_architecture
from jaxtune.spec.budget import Budget, parse_budget
from jaxtune.spec.data import DataSpec
from jaxtune.spec.data_section import parse_data_section
from jaxtune.spec.early_terminate import parse_early_terminate
from jaxtune.spec.errors import Reader, SpecError, key_name
from jaxtune.spec.lengths import fit_data_width, requested_lengths
from jaxtune.spec.model import (
    check_contracts,
    parse_model,
    parse_named_configs,
    register_architectures,
)
from jaxtune.spec.parameters import check_layer_counts, parse_parameters
from jaxtune.spec.scheduler import most_epochs, parse_scheduler
from jaxtune.spec.task import check_task
from jaxtune.spec.train import TrainSpec, metric_alias, parse_train
from jaxtune.tasks import TASKS, task_of
from jaxtune.values import integer

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
TOP_LEVEL = (
    "name",
    "description",
    "task",
    "method",
    "metric",
    "early_terminate",
    "scheduler",
    "parameters",
    "run_cap",
    "optuna",
    "configs",
    "model",
    "data",
    "train",
    "budget",
    "seed",
    "repeats",
)
# Methods whose configs can be repeated (replicates.py): those the spec fixes, and greedy
# (each iteration's configs repeated, scored by their mean).
REPEATABLE = ("grid", "random", "one_at_a_time", "greedy")
DEFAULT_RUN_CAP = 32  # configs of method random or bayes when neither run_cap nor a cap is set
IGNORED = ("program", "command", "entity", "project")  # W&B launch keys: jaxtune is the launcher


@dataclasses.dataclass(frozen=True)
class SweepSpec:
    path: str
    name: str
    task: str  # classify, tag or ctc (tasks.py)
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
    # W&B's early_terminate: configs stopped (PRUNED) at bands of evaluations
    early_terminate: HyperbandStopping | None = None
    # Optuna's successive halving or hyperband, pruning configs at rungs of evaluations;
    # or population-based training, perturbing the running configs
    scheduler: SuccessiveHalving | Hyperband | PopulationBasedTraining | None = None
    # the user modules it names as architectures ('package.module:Class', models/user.py)
    user_architectures: tuple[str, ...] = ()
    repeats: int = 1  # seed replicates of every config (replicates.py)


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
    from jaxtune.models.user import add_search_path

    add_search_path([path.parent])  # a user module may sit beside its spec
    return parse_spec(document, str(path))


def parse_spec(document: Any, path: str = "<spec>") -> SweepSpec:
    read = Reader(path)
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
    repeats = read.parse(integer(1, 1000), top.get("repeats", 1), "repeats")
    if repeats > 1 and top.get("method", "grid") not in REPEATABLE:
        raise read.error(
            "repeats",
            f"seed replicates repeat the configs of {', '.join(REPEATABLE)} and named "
            f"configs; found method {top.get('method')}",
        )
    task = task_of(read.choice(top.get("task", "classify"), "task", tuple(TASKS)))

    metric = read.mapping(top.get("metric"), "metric", ("name", "goal"))
    metric_name = read.choice(
        metric_alias(metric.get("name", task.default_metric)),
        "metric.name",
        tuple(task.monitors),
    )
    default_goal = "maximize" if task.monitors[metric_name] == "max" else "minimize"
    goal = read.choice(metric.get("goal", default_goal), "metric.goal", GOALS)

    user_architectures = register_architectures(read, top)
    read.modules = tuple(user_architectures)
    fixed = parse_model(read, top.get("model"))
    train = parse_train(read, top.get("train"), fixed, metric_name, tuple(task.monitors))

    parameters, distributions, baselines = parse_parameters(
        read, top.get("parameters"), fixed, method
    )
    named = parse_named_configs(read, top.get("configs"))
    if train.max_steps is not None and any(
        "epochs" in d for d in (fixed, parameters, distributions, *named.values())
    ):
        raise read.error(
            "train.max_steps", "a config's budget is epochs or max_steps, not both; remove one"
        )
    if named and (parameters or distributions):
        raise read.error(
            "configs",
            "named configs run as listed; remove parameters (put shared values under model)",
        )
    if named and method != "grid":
        raise read.error("configs", f"named configs run as listed; found method {method}")
    check_layer_counts(read, top, fixed, parameters, distributions, named)
    data = parse_data_section(top.get("data"), path, task=task.name)
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
        elif named:
            raise read.error(
                "data.embedding.trainable",
                "a list of flags sweeps embedding_trainable, and named configs run as "
                "listed; set embedding_trainable in each named config",
            )
        else:
            parameters["embedding_trainable"] = flags
    budget = parse_budget(read, top.get("budget"))
    early_terminate = parse_early_terminate(read, top.get("early_terminate"), notices)
    most = None  # the most evaluations a config's budget holds, when it is known
    if train.eval_every is None and train.max_steps is None:
        most = most_epochs(fixed, parameters, distributions, named.values())
    scheduler = parse_scheduler(read, top.get("scheduler"), most, name, seed)
    if scheduler is not None and early_terminate is not None:
        raise read.error(
            "scheduler", "a sweep takes early_terminate or a scheduler, not both; remove one"
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
    check_task(read, task.name, top, fixed, parameters, distributions, train)
    check_contracts(read, user_architectures, fixed, task.per_step)
    # Every config of the sweep holds the modules' own hyperparameters (at their default
    # where its architecture does not use them, as a CNN's hidden_size): one set of names.
    for module in user_architectures:
        for hparam_name, entry in user_architecture(module).hparams.items():
            given = (fixed, parameters, distributions)
            if hparam_name not in HPARAMS and not any(hparam_name in d for d in given):
                fixed[hparam_name] = entry.default
    spec = SweepSpec(
        path=path,
        name=name,
        task=task.name,
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
        early_terminate=early_terminate,
        scheduler=scheduler,
        user_architectures=tuple(user_architectures),
        repeats=repeats,
    )
    return spec


def _written_key(top: Mapping, name: str, default_section: str) -> str:
    """The spec key, as written (an alias, a `value:` entry), that sets hparam `name`."""
    for section in ("model", "parameters"):
        entries = top.get(section)
        for key, entry in entries.items() if isinstance(entries, Mapping) else ():
            if canonical_name(str(key)) == name:
                where = f"{section}.{key_name(key)}"
                if section == "parameters" and isinstance(entry, Mapping) and "value" in entry:
                    return f"{where}.value"
                return where
    return f"{default_section}.{name}"
