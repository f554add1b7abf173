"""A population: K configs of one static signature stacked on a leading axis and trained as one.

The single-config functions of `train.py` are lifted with `jax.vmap` (the batch is
shared) and jitted once per signature. The same class with `population=False` runs one
config with the identical code, unvmapped: the reference that a population must equal.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from jaxtune.data.dataset import Split
from jaxtune.losses import classification_metrics
from jaxtune.schedulers import EarlyStopping, end_of_epoch
from jaxtune.space import DYNAMIC_NAMES
from jaxtune.train import DeviceSplit, Program, eval_step, guarded_train_step, init_state


def hparam_arrays(configs: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
    """Dynamic hyperparameters of K complete configs as [K] arrays (the traced values)."""

    def as_number(name, value):
        if name == "clip_norm" and value is None:
            return np.inf
        return float(value)

    arrays = {
        name: np.array([as_number(name, c[name]) for c in configs], np.float32)
        for name in DYNAMIC_NAMES
    }
    arrays["embedding_trainable"] = arrays["embedding_trainable"].astype(bool)
    arrays["epochs"] = arrays["epochs"].astype(np.int32)
    return arrays


def trial_keys(sweep_seed: int, trial_ids: Sequence[int]):
    """[K] keys, `fold_in(sweep_key, trial_id)`: a config's randomness never depends on its slot."""
    sweep_key = jax.random.key(sweep_seed)
    return jax.vmap(jax.random.fold_in, in_axes=(None, 0))(
        sweep_key, jnp.asarray(trial_ids, jnp.uint32)
    )


def to_device(split: Split) -> DeviceSplit:
    return DeviceSplit(
        tokens=jnp.asarray(split.tokens),
        lengths=jnp.asarray(split.lengths),
        labels=jnp.asarray(split.labels),
    )


class Trainer:
    """The jitted init / train_epoch / evaluate / end_epoch of one static signature.

    With `population=True` every function takes and returns states with a leading K
    axis; with `population=False` the same functions run one config.
    """

    def __init__(
        self,
        program: Program,
        early_stopping: EarlyStopping,
        *,
        population=True,
        max_loss: float | None = 100.0,
    ):
        self.program = program
        self.early_stopping = early_stopping
        self.max_loss = max_loss

        def lift(fn, in_axes):
            return jax.vmap(fn, in_axes=in_axes) if population else fn

        step = lift(functools.partial(guarded_train_step, program), (0, None, None))
        evaluate_batch = lift(functools.partial(eval_step, program), (0, None))
        update = lift(
            functools.partial(
                end_of_epoch,
                monitor=early_stopping.monitor,
                restore_best=early_stopping.restore_best,
            ),
            (0, 0, None, None),
        )

        def train_epoch(state, split: DeviceSplit, index, weights, max_loss):
            """index, weights: [S, B]; max_loss: scalar divergence bound (inf: none).

            Returns the new state and metrics summed over the epoch ([K] each).
            """

            def body(state, batch_ids):
                return step(state, split.gather(*batch_ids), max_loss)

            state, metrics = lax.scan(body, state, (index, weights))  # metrics: [S, K] each
            return state, jax.tree.map(lambda m: jnp.sum(m, axis=0), metrics)

        def evaluate(params, split: DeviceSplit, index, weights):
            """Loss, accuracy, macro-F1 of every config ([K] each) over padded batches [S, B]."""

            def body(totals, batch_ids):
                loss_sum, confusion = evaluate_batch(params, split.gather(*batch_ids))
                return jax.tree.map(jnp.add, totals, (loss_sum, confusion)), None

            zeros = jax.eval_shape(evaluate_batch, params, split.gather(index[0], weights[0]))
            zeros = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), zeros)
            (loss_sum, confusion), _ = lax.scan(body, zeros, (index, weights))
            metrics = lift(classification_metrics, (0, 0))(loss_sum, confusion)
            return {**metrics, "confusion": confusion}

        def end_epoch(state, val_metrics, patience, min_delta):
            return update(state, val_metrics, patience, min_delta)

        self.init = jax.jit(lift(functools.partial(init_state, program), (0, 0)))
        self._train_epoch = jax.jit(train_epoch, donate_argnums=0)
        self.evaluate = jax.jit(evaluate)
        self.end_epoch = jax.jit(end_epoch, donate_argnums=0)

    def train_epoch(self, state, split: DeviceSplit, index, weights):
        """One epoch over padded minibatches (index, weights: [S, B]); the state is donated."""
        max_loss = jnp.float32(np.inf if self.max_loss is None else self.max_loss)
        return self._train_epoch(state, split, index, weights, max_loss)

    def stopping_args(self):
        """(patience, min_delta) as traced scalars: changing them never recompiles."""
        patience = self.early_stopping.patience
        return (
            jnp.float32(np.inf if patience is None else patience),
            jnp.float32(self.early_stopping.min_delta),
        )
