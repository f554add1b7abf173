"""The hyperparameter registry: names, aliases, static vs dynamic, defaults, allowed values."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from typing import Any

STATIC = "static"  # changes array shapes or program structure: one compile per value
DYNAMIC = "dynamic"  # a per-config array value inside one compiled program

ARCHITECTURES = ("gru", "lstm", "rnn", "cnn")
RECURRENT = ("gru", "lstm", "rnn")
OPTIMIZERS = ("adam", "adamw", "rmsprop", "sgd")
MAX_LAYERS = 8


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
            choice(*ARCHITECTURES),
            "encoder type",
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
        HParam("optimizer", STATIC, "adam", choice(*OPTIMIZERS), "optimizer kind"),
        HParam("nesterov", STATIC, False, boolean(), "Nesterov momentum (sgd, rmsprop)"),
        # Dynamic: per-config arrays, never a recompile.
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


def canonical_name(name: str) -> str:
    """The registry name for `name` or one of its aliases; SpaceError lists the known names."""
    if name in ALIASES:
        return ALIASES[name]
    raise SpaceError(f"unknown hyperparameter {name!r}; known: {', '.join(HPARAMS)}")


def complete_config(values: Mapping[str, Any]) -> dict[str, Any]:
    """Defaults filled in and values not used by the architecture reset to their default.

    Two configs that differ only in a value their architecture ignores (a CNN's
    `hidden_size`) become the same config, so they share a signature and dedupe.
    Lists (JSON, Optuna) become tuples, so configs hash. A per-layer hidden_size list
    sets num_layers to its length; an explicit num_layers that differs is a SpaceError.
    """
    config = {name: p.default for name, p in HPARAMS.items()}
    config.update({k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})
    for name, p in HPARAMS.items():
        if config["architecture"] not in p.applies_to:
            config[name] = p.default
    sizes = config["hidden_size"]
    if isinstance(sizes, tuple):
        layers = values.get("num_layers", len(sizes))
        config["num_layers"] = len(layer_sizes(sizes, layers))
    return config


def static_signature(config: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    """Static hyperparameters of a complete config; equal signatures share one program."""
    return tuple((name, config[name]) for name in STATIC_NAMES)
