"""The program of a static signature: its model, its optimizer, and in a merged program
the variants its configs run (merge.py)."""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp

from jaxtune.data.dataset import TextDataset
from jaxtune.models import build_classifier
from jaxtune.optim import build_optimizer, kind_optimizer, on_union_state
from jaxtune.population.shapes import widest
from jaxtune.space import user_architecture
from jaxtune.tasks import task_of


@dataclasses.dataclass(frozen=True)
class Variant:
    """One static choice inside a merged program: a config's batch size and optimizer.

    A config runs the loop of its variant (`factory.py` branches on hparams["variant"]):
    its minibatches are `batch_size / micro` consecutive micro-batches of the
    population's shared stream, and its update is its kind's optax optimizer (None:
    the union update selected by hparams["optimizer"], optim.py).
    """

    batch_size: int
    optimizer: str | None
    nesterov: bool = False
    # The widths it sets where a program's variants differ in them (hidden_size,
    # num_filters): its params live in the corner of the widest (shapes.py).
    widths: tuple[tuple[str, Any], ...] = ()


def variant_of(config, *, by_kind: bool, widths: tuple[str, ...] = ()) -> Variant:
    """The Variant a config runs: its batch size, its optimizer kind where the program
    branches on kinds (else None, the union update), and its values of `widths`."""
    sizes = tuple(
        (name, tuple(config[name]) if isinstance(config[name], list) else config[name])
        for name in widths
    )
    if not by_kind:
        return Variant(config["batch_size"], None, widths=sizes)
    return Variant(config["batch_size"], config["optimizer"], bool(config["nesterov"]), sizes)


def holds_union(variants: tuple[Variant, ...]) -> bool:
    """Whether a program of `variants` keeps the union optimizer state (optim.py): its
    kinds are mixed, or it runs the union update."""
    kinds = {(v.optimizer, v.nesterov) for v in variants}
    return len(kinds) > 1 or any(v.optimizer is None for v in variants)


@dataclasses.dataclass(frozen=True)
class Program:
    """What a static signature fixes: the model, the optimizer kind (None: merged, each
    config's kind a value of the union optimizer, optim.py), the loss's class weights.

    With `variants` (a merged group, budget.merge), each config runs one of them and
    `optimizer` / `nesterov` are unused; the data stream is cut into micro-batches of
    the smallest variant batch size.
    """

    model: Any  # SequenceClassifier
    optimizer: str | None  # None: merged (budget.merge all); always said, never defaulted
    nesterov: bool = False
    class_weights: tuple[float, ...] | None = None  # per class, in the loss (None: all 1)
    embedding_update: str = "dense"  # or "lazy": only the batch's rows (embedding_rows.py)
    variants: tuple[Variant, ...] = ()
    models: tuple[Any, ...] = ()  # each variant's model where their widths differ, else ()
    task: str = "classify"  # or "tag", "ctc" (tasks.py): the loss and what is counted
    dynamic: tuple[str, ...] = ()  # a user module's traced hyperparameters (models/user.py)

    def model_hparams(self, hparams) -> dict:
        """The traced hyperparameters the model itself reads, of a hparams dict."""
        return {name: hparams[name] for name in self.dynamic}

    def model_for(self, variant: Variant | None):
        return self.models[self.variants.index(variant)] if self.models else self.model

    def native_params(self, variant: Variant | None):
        """The params' shapes (ShapeDtypeStruct) of a config of `variant`, at its own width."""
        tokens = jnp.zeros((1, 8), jnp.int32)
        init = self.model_for(variant).init
        return jax.eval_shape(
            lambda key: init(key, tokens, jnp.ones((1,), jnp.int32))["params"], jax.random.key(0)
        )

    def widest_params(self):
        """The shapes every config's params are stored at: the widest of its variants'."""
        return widest([self.native_params(v) for v in self.variants])

    @property
    def micro_batch(self) -> int | None:
        """The stream's batch size when variants share it (None: no variants)."""
        return min(v.batch_size for v in self.variants) if self.variants else None

    def optimizer_for(self, hparams, variant: Variant | None = None):
        """The optimizer of a config of `variant` (None: the program's own)."""
        if variant is None:
            if self.variants:
                variant = self.variants[0]  # every variant's init gives the same state
            elif self.optimizer is None:
                return build_optimizer(hparams)
            else:
                return kind_optimizer(self.optimizer, hparams, nesterov=self.nesterov)
        if variant.optimizer is None:
            return build_optimizer(hparams)
        if holds_union(self.variants):
            return on_union_state(variant.optimizer, hparams, nesterov=variant.nesterov)
        return kind_optimizer(variant.optimizer, hparams, nesterov=variant.nesterov)


def program_for(
    config: dict[str, Any],
    dataset: TextDataset,
    class_weights: tuple[float, ...] | None = None,
    embedding_update: str = "dense",
    unroll: int = 1,
    variants: tuple[Variant, ...] = (),
) -> Program:
    """The program of a config's static signature; `unroll`: timesteps per iteration of the
    recurrent scans (budget.unroll), which changes the compiled loop, never the math;
    `variants`: a merged program's (merge.py), each config running its own."""

    user = user_architecture(config["architecture"])

    def model(widths=()):
        at_width = {**config, **dict(widths)}
        return build_classifier(
            at_width,
            dataset.vocab_size,
            dataset.num_classes,
            scan_unroll=unroll,
            per_step=task_of(dataset.task).per_step,
        )

    return Program(
        model=model(),
        optimizer=config["optimizer"],
        nesterov=config["nesterov"],
        class_weights=class_weights,
        embedding_update=embedding_update,
        variants=variants,
        models=tuple(model(v.widths) for v in variants) if variants and variants[0].widths else (),
        task=dataset.task,
        dynamic=tuple(user.dynamic) if user is not None else (),
    )
