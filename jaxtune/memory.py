"""Memory estimate per config, before anything compiles: what the planner sizes populations by.

Parameter and optimizer-state sizes are exact (`jax.eval_shape` of the real init); the
activations kept for the backward pass are estimated from the model's shapes. The
throughput benchmark checks the estimate against measured peak RSS, for the default
dense embedding update and for the lazy one (embedding_rows.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxtune.data.widths import config_width
from jaxtune.embedding_rows import under_table
from jaxtune.models import build_classifier
from jaxtune.models.cells import NUM_GATES
from jaxtune.optim import build_optimizer, kind_optimizer
from jaxtune.space import user_architecture
from jaxtune.values import layer_sizes

FLOAT_BYTES = 4


@dataclasses.dataclass(frozen=True)
class MemoryEstimate:
    params: int  # bytes of one copy of the parameters
    optimizer_state: int
    best_params: int  # the copy kept for restore-best
    step_transient: int  # gradients and updates alive during a step
    activations: int  # residuals the backward pass keeps for one minibatch
    row_views: int = 0  # the lazy embedding update's rows of the table and its moments

    @property
    def persistent(self) -> int:
        """Bytes every config holds for the whole run."""
        return self.params + self.optimizer_state + self.best_params

    @property
    def per_step(self) -> int:
        """Bytes alive only while the config's step runs (one chunk at a time)."""
        return self.step_transient + self.activations + self.row_views

    @property
    def total(self) -> int:
        return self.persistent + self.per_step

    def population_bytes(self, width: int, chunk: int | None = None) -> int:
        """A population of `width` configs computed `chunk` at a time (None: all at once)."""
        concurrent = width if chunk is None else min(chunk, width)
        return width * self.persistent + concurrent * self.per_step


def _tree_bytes(tree) -> int:
    return int(sum(np.prod(leaf.shape) * leaf.dtype.itemsize for leaf in jax.tree.leaves(tree)))


def activation_floats(config: Mapping[str, Any], seq_len: int, params=None) -> int:
    """Floats the backward pass keeps for one [B, T] minibatch of one config.

    A user module's (params: its shapes) is estimated from its weights: each matrix's
    output at every token, kept twice (before and after a nonlinearity), and one [T, T]
    score map per token row of attention that a matrix may feed."""
    batch, embed = config["batch_size"], config["embedding_dim"]
    tokens = batch * seq_len
    floats = 2 * tokens * embed  # embedded inputs and their dropout mask
    if user_architecture(config["architecture"]) is not None:
        matrices = [leaf for leaf in jax.tree.leaves(params) if len(leaf.shape) >= 2]
        floats += sum(2 * tokens * int(leaf.shape[-1]) for leaf in matrices)
        return floats + len(matrices) * tokens * seq_len
    if config["architecture"] == "cnn":
        for width in config["filter_sizes"]:
            windows = batch * max(seq_len - width + 1, 1)
            floats += windows * (width * embed + 2 * config["num_filters"])
        return floats
    directions = 2 if config["bidirectional"] else 1
    input_size = embed
    for hidden in layer_sizes(config["hidden_size"], config["num_layers"]):
        gates = NUM_GATES[config["architecture"]] * hidden
        # Per step: the input projection slice, the gate activations, the carry and output.
        per_direction = tokens * (2 * gates + 3 * hidden) + tokens * input_size
        floats += directions * per_direction
        input_size = hidden * directions
    return floats


def _table_bytes(tree) -> int:
    """Bytes of the embedding table's leaves in `tree` (params or optimizer state)."""
    leaves = jax.tree_util.tree_leaves_with_path(tree)
    return _tree_bytes([leaf for path, leaf in leaves if under_table(path)])


def estimate_memory(
    config: Mapping[str, Any],
    *,
    vocab_size: int,
    num_classes: int,
    seq_len: int,
    embedding_update: str = "dense",
    merge: str = "none",
) -> MemoryEstimate:
    """Bytes one config of a population needs (complete config, float32).

    Its optimizer state is its kind's (budget.merge none) or the union state (all).

    `seq_len` is the data's width T; the config reads min(its max_length, T) tokens.
    With the lazy `embedding_update` a step holds the batch's N = B * T rows of the table
    and of its moments instead of a [V, E] gradient and update.
    """
    model = build_classifier(config, vocab_size, num_classes)
    tokens = jnp.zeros((1, 8), jnp.int32)
    try:
        params = jax.eval_shape(
            lambda key: model.init(key, tokens, jnp.ones((1,), jnp.int32))["params"],
            jax.random.key(0),
        )
    except Exception:
        if user_architecture(config["architecture"]) is None:
            raise
        # A user module that cannot be built with these values: its configs are recorded
        # FAILED before training (Engine.build_failures); nothing of it is held.
        params = {}
    hparams = {
        name: jnp.float32(0.5)
        for name in (
            "learning_rate",
            "beta1",
            "beta2",
            "momentum",
            "rho",
            "weight_decay",
            "clip_norm",
        )
    } | {"optimizer": jnp.int32(0), "nesterov": jnp.bool_(False)}
    if merge == "all":
        optimizer = build_optimizer(hparams)  # one union state, whatever the kind
    else:
        optimizer = kind_optimizer(config["optimizer"], hparams, nesterov=config["nesterov"])
    opt_state = jax.eval_shape(optimizer.init, params)
    param_bytes = _tree_bytes(params)
    width = config_width(config, seq_len)
    step_bytes, row_views = param_bytes, 0
    if embedding_update == "lazy":
        table = _table_bytes(params)
        rows = table // vocab_size * config["batch_size"] * width  # [N, E]
        row_views = rows * (1 + _table_bytes(opt_state) // table)  # the table's and moments'
        step_bytes = param_bytes - table + rows
    return MemoryEstimate(
        params=param_bytes,
        optimizer_state=_tree_bytes(opt_state),
        best_params=param_bytes,
        step_transient=2 * step_bytes,
        activations=FLOAT_BYTES * activation_floats(config, width, params.get("encoder")),
        row_views=row_views,
    )
