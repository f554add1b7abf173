"""The hyperparameter registry: names, aliases, static vs dynamic, defaults, allowed values."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Mapping
from typing import Any

from jaxtune.values import (
    SpaceError,
    boolean,
    choice,
    floating,
    integer,
    integer_tuple,
    layer_sizes,
    layer_sizes_parser,
    optional,
)

STATIC = "static"  # changes array shapes or program structure: one compile per value
DYNAMIC = "dynamic"  # a per-config array value inside one compiled program

ARCHITECTURES = ("gru", "lstm", "rnn", "cnn")
RECURRENT = ("gru", "lstm", "rnn")
OPTIMIZERS = ("adam", "adamw", "rmsprop", "sgd")
MAX_LAYERS = 8
# model_size presets: (hidden_size, num_layers) of a recurrent encoder.
MODEL_SIZES = {"small": (64, 1), "medium": (128, 2), "large": (256, 2)}


def architecture_parser():
    """A built-in architecture's name, or a user module's 'package.module:Class' path,
    which is imported and registered (models/user.py) the first time it is named."""
    builtin = choice(*ARCHITECTURES)
    what = f"{builtin.allowed}, or your own Flax module as 'package.module:Class'"

    def parse(value: Any) -> str:
        if isinstance(value, str) and value in USER_ALIASES:
            return USER_ALIASES[value]
        if isinstance(value, str) and ":" in value:
            from jaxtune.models.user import import_architecture  # the user's code, and flax

            return import_architecture(value).path
        try:
            return builtin(value)
        except SpaceError:
            raise SpaceError(f"expected {what}, found {value!r}") from None

    parse.allowed = what
    return parse


@dataclasses.dataclass(frozen=True)
class HParam:
    name: str
    kind: str
    default: Any
    parse: Callable[[Any], Any]
    help: str
    aliases: tuple[str, ...] = ()
    applies_to: tuple[str, ...] = ARCHITECTURES

    @property
    def allowed(self) -> str:
        return self.parse.allowed


HPARAMS: dict[str, HParam] = {
    p.name: p
    for p in [
        # Static: one compiled program per distinct combination.
        HParam(
            "architecture",
            STATIC,
            "gru",
            architecture_parser(),
            "encoder type: a built-in, or your own Flax module as 'package.module:Class'",
            aliases=("cell", "model_type", "rnn_type"),
        ),
        HParam(
            "hidden_size",
            STATIC,
            64,
            layer_sizes_parser(1, 4096, MAX_LAYERS),
            "recurrent units per layer, or a list of sizes, one per layer (bottom to top)",
            aliases=("units", "hidden_units", "hidden_dim"),
            applies_to=RECURRENT,
        ),
        HParam(
            "num_layers",
            STATIC,
            1,
            integer(1, MAX_LAYERS),
            "stacked recurrent layers (a list hidden_size sets it)",
            aliases=("layers",),
            applies_to=RECURRENT,
        ),
        HParam(
            "model_size",
            STATIC,
            None,
            optional(choice(*MODEL_SIZES)),
            "a preset of hidden_size and num_layers: small (64, 1 layer), medium (128, 2), "
            "large (256, 2); hidden_size or num_layers given beside it win",
            applies_to=RECURRENT,
        ),
        HParam(
            "bidirectional",
            STATIC,
            False,
            boolean(),
            "run each layer both ways",
            applies_to=RECURRENT,
        ),
        HParam(
            "rnn_activation",
            STATIC,
            "tanh",
            choice("tanh", "relu"),
            "SimpleRNN nonlinearity",
            aliases=("nonlinearity", "activation"),
            applies_to=("rnn",),
        ),
        HParam(
            "embedding_dim",
            STATIC,
            64,
            integer(1, 4096),
            "embedding width",
            aliases=("embed_dim", "embedding_size"),
        ),
        HParam(
            "max_length",
            STATIC,
            None,
            optional(integer(1, 1 << 16)),
            "tokens a config reads: each example truncated to its first max_length "
            "(null: the data's width, data.max_length)",
            aliases=("maxlen", "max_len", "sequence_length"),
        ),
        HParam(
            "num_filters",
            STATIC,
            64,
            integer(1, 4096),
            "CNN filters per size",
            aliases=("filters",),
            applies_to=("cnn",),
        ),
        HParam(
            "filter_sizes",
            STATIC,
            (3, 4, 5),
            integer_tuple(1, 64, 8),
            "CNN window sizes",
            aliases=("kernel_sizes",),
            applies_to=("cnn",),
        ),
        HParam("batch_size", STATIC, 64, integer(1, 65536), "training minibatch size"),
        # Dynamic: per-config arrays, never a recompile.
        HParam("optimizer", DYNAMIC, "adam", choice(*OPTIMIZERS), "optimizer kind (optim.py)"),
        HParam("nesterov", DYNAMIC, False, boolean(), "Nesterov momentum (adam, rmsprop, sgd)"),
        HParam(
            "learning_rate",
            DYNAMIC,
            1e-3,
            floating(0.0, 1e6, low_open=True),
            "step size",
            aliases=("lr",),
        ),
        HParam(
            "beta1",
            DYNAMIC,
            0.9,
            floating(0.0, 1.0, high_open=True),
            "Adam first-moment decay",
            aliases=("b1", "beta_1"),
        ),
        HParam(
            "beta2",
            DYNAMIC,
            0.999,
            floating(0.0, 1.0, high_open=True),
            "Adam second-moment decay",
            aliases=("b2", "beta_2"),
        ),
        HParam(
            "momentum", DYNAMIC, 0.0, floating(0.0, 1.0, high_open=True), "momentum (sgd, rmsprop)"
        ),
        HParam(
            "rho",
            DYNAMIC,
            0.9,
            floating(0.0, 1.0, high_open=True),
            "RMSprop squared-gradient decay",
            aliases=("rmsprop_decay",),
        ),
        HParam(
            "weight_decay",
            DYNAMIC,
            0.0,
            floating(0.0, 1e3),
            "decoupled for adamw, L2 on gradients otherwise",
        ),
        HParam(
            "clip_norm",
            DYNAMIC,
            None,
            optional(floating(0.0, 1e9, low_open=True)),
            "clip gradients to this global norm (null: no clipping)",
            aliases=("clipnorm", "grad_clip", "max_grad_norm"),
        ),
        HParam(
            "dropout",
            DYNAMIC,
            0.0,
            floating(0.0, 1.0, high_open=True),
            "dropout on layer inputs and on the encoder output",
        ),
        HParam(
            "recurrent_dropout",
            DYNAMIC,
            0.0,
            floating(0.0, 1.0, high_open=True),
            "per-sequence dropout mask on the recurrent state",
            applies_to=RECURRENT,
        ),
        HParam(
            "label_smoothing",
            DYNAMIC,
            0.0,
            floating(0.0, 1.0, high_open=True),
            "label smoothing of the cross-entropy target",
        ),
        HParam(
            "focal_gamma",
            DYNAMIC,
            0.0,
            floating(0.0, 10.0),
            "focal loss focusing parameter (0: plain cross-entropy)",
            aliases=("gamma", "focal_loss_gamma"),
        ),
        HParam(
            "embedding_trainable",
            DYNAMIC,
            True,
            boolean(),
            "fine-tune (true) or freeze (false) the embedding",
            aliases=("trainable_embedding", "train_embedding"),
        ),
        HParam(
            "lr_schedule",
            DYNAMIC,
            "constant",
            choice("constant", "cosine", "exponential", "plateau"),
            "learning-rate schedule after the warmup (reduce-on-plateau: plateau)",
            aliases=("schedule", "lr_scheduler", "scheduler"),
        ),
        HParam(
            "warmup_steps",
            DYNAMIC,
            0,
            integer(0, 10**8),
            "linear learning-rate warmup, in optimizer steps",
            aliases=("warmup",),
        ),
        HParam(
            "min_lr_ratio",
            DYNAMIC,
            0.0,
            floating(0.0, 1.0),
            "cosine: final rate as a fraction of learning_rate",
            aliases=("alpha",),
        ),
        HParam(
            "decay_rate",
            DYNAMIC,
            0.96,
            floating(0.0, 1.0, low_open=True),
            "exponential: rate multiplied by this every decay_steps",
        ),
        HParam(
            "decay_steps",
            DYNAMIC,
            1000,
            integer(1, 10**8),
            "exponential: steps per decay_rate factor",
        ),
        HParam(
            "plateau_factor",
            DYNAMIC,
            0.1,
            floating(0.0, 1.0, low_open=True, high_open=True),
            "plateau: rate multiplied by this after plateau_patience evaluations without gain",
            aliases=("factor",),
        ),
        HParam(
            "plateau_patience",
            DYNAMIC,
            2,
            integer(1, 100000),
            "plateau: evaluations without improvement before the rate is cut",
        ),
        HParam(
            "epochs",
            DYNAMIC,
            10,
            integer(1, 100000),
            "maximum epochs for the config",
            aliases=("num_epochs", "max_epochs"),
        ),
    ]
}

ALIASES: dict[str, str] = {
    alias: p.name for p in HPARAMS.values() for alias in (p.name, *p.aliases)
}

STATIC_NAMES = tuple(n for n, p in HPARAMS.items() if p.kind == STATIC)
DYNAMIC_NAMES = tuple(n for n, p in HPARAMS.items() if p.kind == DYNAMIC)

# The built-in encoders' own hyperparameters: a user module's field may take one of these
# names (its `hidden_size`), no other built-in name.
ENCODER_NAMES = tuple(n for n, p in HPARAMS.items() if p.applies_to != ARCHITECTURES)


@dataclasses.dataclass(frozen=True)
class Architecture:
    """A user's Flax module as an architecture (models/user.py): its dataclass fields are
    static hyperparameters, its declared `dynamic_hparams` traced ones."""

    path: str  # 'package.module:Class', the architecture's value in configs
    module: Any  # the flax.linen.Module subclass
    static: dict[str, HParam]
    dynamic: dict[str, HParam]

    @property
    def hparams(self) -> dict[str, HParam]:
        return {**self.static, **self.dynamic}


# Registered user architectures by path, and the short names (a class passed to
# `jaxtune.sweep(model=...)`) that stand for a path.
USER_ARCHITECTURES: dict[str, Architecture] = {}
USER_ALIASES: dict[str, str] = {}


def register_architecture(architecture: Architecture, alias: str | None = None) -> None:
    USER_ARCHITECTURES[architecture.path] = architecture
    if alias is not None:
        USER_ALIASES[alias] = architecture.path


def user_architecture(name: Any) -> Architecture | None:
    """The registered user architecture `name` names, or None (a built-in)."""
    return USER_ARCHITECTURES.get(name) if isinstance(name, str) else None


def hparam(name: str) -> HParam:
    """The registry entry of a canonical name: a built-in's (also where a module's field
    shares its name), else that of the first registered module that declares it."""
    if name in HPARAMS:
        return HPARAMS[name]
    for architecture in USER_ARCHITECTURES.values():
        if name in architecture.hparams:
            return architecture.hparams[name]
    raise KeyError(name)


def hparams_of(architecture: str) -> dict[str, HParam]:
    """Every hyperparameter a config of `architecture` uses, by name."""
    if architecture in ARCHITECTURES:
        return {n: p for n, p in HPARAMS.items() if architecture in p.applies_to}
    user = user_architecture(architecture)
    generic = {n: p for n, p in HPARAMS.items() if p.applies_to == ARCHITECTURES}
    return generic if user is None else {**generic, **user.hparams}


def applies(name: str, architecture: Any) -> bool:
    """Whether a config of `architecture` uses the hyperparameter `name`. A name no
    registered module declares, and any name of a module that is not registered in this
    process (a report read without it), are taken to be used."""
    if architecture is None:
        return True
    if name not in HPARAMS:
        user = user_architecture(architecture)
        if user is not None:
            return name in user.hparams
        declared = any(name in a.hparams for a in USER_ARCHITECTURES.values())
        return not (declared and architecture in ARCHITECTURES)
    return name in hparams_of(architecture)


def canonical_name(name: str, modules: Collection[str] | None = None) -> str:
    """The registry name for `name` or one of its aliases, or a hyperparameter of one of
    the user `modules` (their paths; None: every registered one, as a spec names only
    its own); SpaceError lists the known names."""
    if name in ALIASES:
        return ALIASES[name]
    known = [a for path, a in USER_ARCHITECTURES.items() if modules is None or path in modules]
    for architecture in known:
        if name in architecture.hparams:
            return name
    declared = "".join(f"; {a.path} takes {', '.join(a.hparams) or 'none'}" for a in known)
    raise SpaceError(f"unknown hyperparameter {name!r}; known: {', '.join(HPARAMS)}{declared}")


def complete_config(values: Mapping[str, Any]) -> dict[str, Any]:
    """Defaults filled in and values not used by the architecture reset to their default.

    Two configs that differ only in a value their architecture ignores (a CNN's
    `hidden_size`) become the same config, so they share a signature and dedupe.
    Lists (JSON, Optuna) become tuples, so configs hash. A per-layer hidden_size list
    sets num_layers to its length; an explicit num_layers that differs is a SpaceError.
    A model_size preset sets hidden_size and num_layers where the values do not. A user
    module's hyperparameters (models/user.py) are in the configs of its architecture,
    and in others' only where the values set them (at their default, unused).
    """
    config = {name: p.default for name, p in HPARAMS.items()}
    config.update({k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})
    user = user_architecture(config["architecture"])
    used = hparams_of(config["architecture"])
    for name, p in HPARAMS.items():
        if name not in used:
            config[name] = p.default
    if user is not None:  # its own defaults, also for a field named like a built-in's
        config.update({n: p.default for n, p in user.hparams.items() if n not in values})
    # Another module's hyperparameter that the values set is reset to its default, as a
    # built-in's is; those the values do not set stay out of the config. A key no registry
    # knows (a seed replicate's `repeat`, replicates.py) stays as it is.
    declared = {n for a in USER_ARCHITECTURES.values() for n in a.hparams}
    for name in [n for n in config if n not in HPARAMS and n not in used and n in declared]:
        config[name] = hparam(name).default
    if config["model_size"] is not None:
        hidden, layers = MODEL_SIZES[config["model_size"]]
        preset = {"hidden_size": hidden, "num_layers": layers}
        config.update({name: v for name, v in preset.items() if name not in values})
    sizes = config["hidden_size"]
    if isinstance(sizes, tuple):
        layers = values.get("num_layers", len(sizes))
        config["num_layers"] = len(layer_sizes(sizes, layers))
    return config


# Dynamic values that still group configs apart unless the planner merges them
# (`budget.merge`, merge.py): the optimizer kind decides the optimizer state's structure.
KIND_NAMES = ("optimizer", "nesterov")
MERGE_MODES = ("auto", "none", "all")  # budget.merge


def static_signature(
    config: Mapping[str, Any], merged: Collection[str] = ()
) -> tuple[tuple[str, Any], ...]:
    """What a config's program depends on: its static hyperparameters and optimizer kind,
    less the `merged` ones (merge.py), which its program branches on instead. Equal
    signatures share one program."""
    # model_size is expanded into hidden_size and num_layers (complete_config).
    names = (*(n for n in STATIC_NAMES if n != "model_size"), *KIND_NAMES)
    user = user_architecture(config["architecture"])
    if user is None:
        return tuple((name, config[name]) for name in names if name not in merged)
    # A user module's fields are never merged: its params' structure may follow any of them.
    builtin = tuple((n, config[n]) for n in names if n not in merged and n not in user.static)
    return builtin + tuple((name, config[name]) for name in user.static)
