"""The spec's `train:` section: epochs, early stopping, evaluation, divergence, class weights."""

from __future__ import annotations

import dataclasses
from typing import Any

from jaxtune.embedding_rows import MODES
from jaxtune.population.status import MONITORS, EarlyStopping
from jaxtune.space import HPARAMS
from jaxtune.spec.errors import Reader
from jaxtune.values import SpaceError, boolean, floating, integer, optional

# Metric names W&B's docs and Keras logs use for the ones jaxtune reports.
METRIC_ALIASES = {
    "validation_loss": "val_loss",
    "val_acc": "val_accuracy",
    "validation_accuracy": "val_accuracy",
}
KEYS = (
    "epochs",
    "early_stopping",
    "eval_batch_size",
    "max_loss",
    "class_weights",
    "checkpoint_every",
    "eval_every",
    "max_steps",
    "embedding_update",
)
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


def metric_alias(name: Any) -> Any:
    """The metric jaxtune reports under another name W&B's docs or Keras use."""
    return METRIC_ALIASES.get(name, name) if isinstance(name, str) else name


def parse_train(
    read: Reader,
    section: Any,
    fixed: dict[str, Any],
    metric_name: str,
    monitors: tuple[str, ...] = tuple(MONITORS),
) -> TrainSpec:
    """The train section; `train.epochs` becomes the fixed hyperparameter `epochs`;
    `monitors`: the metrics the sweep's task records (what early stopping may watch)."""
    section = read.mapping(section, "train", KEYS)
    if "epochs" in section:
        if "epochs" in fixed:
            raise read.error("train.epochs", "'epochs' is set twice (model and train)")
        fixed["epochs"] = read.parse(HPARAMS["epochs"].parse, section["epochs"], "train.epochs")
    return TrainSpec(
        early_stopping=_early_stopping(read, section.get("early_stopping"), metric_name, monitors),
        eval_batch_size=read.parse(
            integer(1, 65536), section.get("eval_batch_size", 256), "train.eval_batch_size"
        ),
        max_loss=read.parse(
            optional(floating(0.0, 1e30, low_open=True)),
            section.get("max_loss", 100.0),
            "train.max_loss",
        ),
        class_weights=_class_weights(read, section.get("class_weights", "none")),
        checkpoint_every=read.parse(
            optional(integer(1, 100_000)),
            section.get("checkpoint_every", 1),
            "train.checkpoint_every",
        ),
        eval_every=_eval_every(read, section.get("eval_every", "epoch")),
        max_steps=read.parse(
            optional(integer(1, 1 << 30)), section.get("max_steps"), "train.max_steps"
        ),
        embedding_update=read.choice(
            section.get("embedding_update", "dense"), "train.embedding_update", MODES
        ),
    )


def _early_stopping(
    read: Reader, section: Any, metric_name: str, monitors: tuple[str, ...]
) -> EarlyStopping:
    where = "train.early_stopping"
    section = read.mapping(section, where, ("monitor", "patience", "min_delta", "restore_best"))
    patience = section.get("patience")
    return EarlyStopping(
        monitor=read.choice(
            metric_alias(section.get("monitor", metric_name)), f"{where}.monitor", monitors
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


def _class_weights(read: Reader, value: Any) -> str | tuple[float, ...]:
    if value in CLASS_WEIGHTS:
        return value
    what = f"{', '.join(CLASS_WEIGHTS)} or a list of positive weights, one per class"
    if not isinstance(value, list) or not value:
        raise read.error("train.class_weights", f"expected {what}, found {value!r}")
    try:
        return tuple(floating(0.0, 1e6, low_open=True)(v) for v in value)
    except SpaceError:
        raise read.error("train.class_weights", f"expected {what}, found {value!r}") from None


def _eval_every(read: Reader, value: Any) -> int | None:
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
