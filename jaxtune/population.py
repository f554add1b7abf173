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
from jaxtune.embedding_rows import batch_rows, gather_rows, scatter_rows
from jaxtune.losses import classification_metrics
from jaxtune.models.classifier import EMBEDDING
from jaxtune.schedulers import EarlyStopping, end_of_epoch, stop_now
from jaxtune.schedules import learning_rate, schedule_code
from jaxtune.sharding import init_on_mesh, local_devices, on_mesh, over_devices
from jaxtune.space import DYNAMIC_NAMES
from jaxtune.train import DeviceSplit, Program, eval_step, guarded_train_step, init_state


def hparam_arrays(
    configs: Sequence[Mapping[str, Any]], *, steps_per_epoch: int, max_steps: int | None = None
) -> dict[str, np.ndarray]:
    """Dynamic hyperparameters of K complete configs as [K] arrays (the traced values).

    Also `total_steps` [K], each config's budget of optimizer steps (it completes at the
    first evaluation that reaches it, and a cosine schedule spans it): `epochs` *
    steps_per_epoch, or `max_steps` when the spec sets train.max_steps.
    """

    def as_number(name, value):
        if name == "clip_norm" and value is None:
            return np.inf
        if name == "lr_schedule":
            return schedule_code(value)
        return float(value)

    arrays = {
        name: np.array([as_number(name, c[name]) for c in configs], np.float32)
        for name in DYNAMIC_NAMES
    }
    arrays["embedding_trainable"] = arrays["embedding_trainable"].astype(bool)
    arrays["epochs"] = arrays["epochs"].astype(np.int32)
    arrays["lr_schedule"] = arrays["lr_schedule"].astype(np.int32)
    if max_steps is None:
        arrays["total_steps"] = (arrays["epochs"] * steps_per_epoch).astype(np.float32)
    else:
        arrays["total_steps"] = np.full(len(configs), max_steps, np.float32)
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


def over_chunks(vmapped, chunk: int | None, per_config, *shared, updates_input=False):
    """vmapped(per_config[k0:k0+chunk], *shared) for every chunk of the leading K axis.

    The chunks run one after another in a `fori_loop`, so only `chunk` configs' tensors
    are live in one step. With `updates_input`, vmapped returns (new per_config, extras)
    and each chunk's new values are written back into the per-config tree in place (a
    train step), and a chunk whose configs are all inactive (`per_config.active`) is
    skipped: it keeps its values and its extras are zeros, exactly what the guarded step
    computes for it, so stopped configs and padding slots cost nothing. Otherwise its
    results are stacked. chunk None (or >= K) is one plain vmapped call.
    """
    width = jax.tree.leaves(per_config)[0].shape[0]
    if chunk is None or chunk >= width:
        return vmapped(per_config, *shared)
    full, rest = divmod(width, chunk)

    def part(tree, start, size):
        return jax.tree.map(lambda x: lax.dynamic_slice_in_dim(x, start, size), tree)

    def write(tree, values, start):
        return jax.tree.map(
            lambda t, v: lax.dynamic_update_slice_in_dim(t, v, start, 0), tree, values
        )

    shapes = jax.eval_shape(vmapped, per_config, *shared)
    stacked = shapes[1] if updates_input else shapes
    stacked = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), stacked)

    def run(carry, start, size):
        tree, stacked = carry
        inputs = part(tree, start, size)
        if updates_input:

            def skip(inputs):
                zeros = jax.eval_shape(vmapped, inputs, *shared)[1]
                return inputs, jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), zeros)

            new, result = lax.cond(
                jnp.any(inputs.active), lambda x: vmapped(x, *shared), skip, inputs
            )
            tree = write(tree, new, start)
        else:
            result = vmapped(inputs, *shared)
        return tree, write(stacked, result, start)

    carry = lax.fori_loop(
        0, full, lambda i, carry: run(carry, i * chunk, chunk), (per_config, stacked)
    )
    if rest:
        carry = run(carry, full * chunk, rest)
    return carry if updates_input else carry[1]


class Trainer:
    """The jitted init / train_epoch / evaluate / end_epoch of one static signature.

    With `population=True` every function takes and returns states with a leading K
    axis; with `population=False` the same functions run one config.

    `chunk` sets how many configs are vectorized together: None (all K at once, plain
    `jax.vmap`) or a width c, in which case the jitted epoch loops over the population c
    configs at a time (`over_chunks`, a `fori_loop` over chunks), and each chunk runs
    through all of the call's minibatches before the next one starts: a config's state
    is sliced out and written back once per call, not at every step. On a CPU the
    per-config kernels run fastest when their tensors stay in cache, so a small c beats
    one K-wide vmap there (benchmarks/README.md); the math does not depend on c.

    `devices` (None: every local device; `budget.devices`) splits a population's K axis
    over that many devices (`sharding.over_devices`), each training and evaluating its
    share of the configs, c at a time; neither changes the math.
    """

    def __init__(
        self,
        program: Program,
        early_stopping: EarlyStopping,
        *,
        population=True,
        max_loss: float | None = 100.0,
        chunk: int | None = None,
        devices: int | None = None,
    ):
        self.program = program
        self.early_stopping = early_stopping
        self.max_loss = max_loss
        self.chunk = chunk
        self.population = population
        self.devices = local_devices(devices) if population else local_devices(1)

        def on_devices(fn):
            """fn(per_config, *shared) with the population split over the devices."""
            return over_devices(fn, self.devices) if population else fn

        def lift(fn, in_axes):
            return jax.vmap(fn, in_axes=in_axes) if population else fn

        def lift_chunked(fn, shared: int):
            """fn(per_config, *shared args) over the population, `chunk` configs at a time."""
            if not population:
                return fn
            return functools.partial(
                over_chunks, jax.vmap(fn, in_axes=(0, *[None] * shared)), chunk
            )

        lazy = program.embedding_update == "lazy"
        train_step_all = lift(functools.partial(guarded_train_step, program), (0, None, None, None))
        gather_all = lift(gather_rows, (0, None))
        scatter_all = lift(scatter_rows, (0, 0, None))

        def step(state, batch, max_loss, rows, inverse):
            """One step of every config in `state` (the population, or one chunk of it)."""
            if not lazy:
                return train_step_all(state, batch, max_loss, None)
            # The lazy embedding update: the step sees only the batch's rows of every table
            # and its moments ([k, N, E]), written back in place after it.
            new, metrics = train_step_all(gather_all(state, rows), batch, max_loss, inverse)
            return scatter_all(state, new, rows), metrics

        def epoch(state, split: DeviceSplit, index, weights, max_loss, rows):
            """Every config in `state` through the batches [S, B]; metrics summed over them.

            rows: None, or (the lazy update) each batch's (rows [S, N], inverse [S, B, T]).
            """

            # The steps after the last one with a real example (the fill of a length
            # bucket's last block, bucketing.py) would change nothing: the loop stops
            # before them, so a block can be long without costing its fill.
            has_examples = jnp.any(weights > 0, axis=1)  # [S]
            num_steps = jnp.max(jnp.where(has_examples, jnp.arange(1, len(weights) + 1), 0))
            per_step = rows if lazy else (None, None)

            def body(i, carry):
                state, totals = carry
                step_rows = jax.tree.map(lambda r: r[i], per_step)
                state, metrics = step(
                    state, split.gather(index[i], weights[i]), max_loss, *step_rows
                )
                return state, jax.tree.map(jnp.add, totals, metrics)

            first = jax.tree.map(lambda r: r[0], per_step)
            zeros = jax.eval_shape(
                step, state, split.gather(index[0], weights[0]), max_loss, *first
            )
            zeros = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), zeros[1])
            return lax.fori_loop(0, num_steps, body, (state, zeros))  # metrics: [k] each

        # A chunked population runs each chunk through the whole epoch (over_chunks), so a
        # config's state is sliced out and written back once per epoch, not once per step.
        train_chunks = (
            functools.partial(over_chunks, epoch, chunk, updates_input=True)
            if population
            else epoch
        )

        evaluate_batch = lift_chunked(functools.partial(eval_step, program), shared=1)
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
            # best_params is not an input of a step: keep it out of the chunk loop's carry.
            light = state.replace(best_params=None)
            rows = None
            if lazy:  # every batch's distinct tokens, found once for all configs
                vocab_size = state.params[EMBEDDING]["embedding"].shape[-2]
                rows = lax.map(
                    lambda ids: batch_rows(split.gather(*ids).tokens, vocab_size), (index, weights)
                )
            new, metrics = train_chunks(light, split, index, weights, max_loss, rows)
            return new.replace(best_params=state.best_params), metrics

        def evaluate_totals(params, split: DeviceSplit, index, weights):
            """Summed loss [K] and confusion [K, C, C] of every config over batches [S, B]."""

            def body(totals, batch_ids):
                loss_sum, confusion = evaluate_batch(params, split.gather(*batch_ids))
                return jax.tree.map(jnp.add, totals, (loss_sum, confusion)), None

            zeros = jax.eval_shape(evaluate_batch, params, split.gather(index[0], weights[0]))
            zeros = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), zeros)
            (loss_sum, confusion), _ = lax.scan(body, zeros, (index, weights))
            return loss_sum, confusion

        def metrics(loss_sum, confusion):
            """Loss, accuracy, macro-F1, per-class accuracy ([K] each) and the confusion."""
            return {
                **lift(classification_metrics, (0, 0))(loss_sum, confusion),
                "confusion": confusion,
            }

        totals_on_devices = on_devices(evaluate_totals)

        def evaluate(params, split: DeviceSplit, index, weights):
            """Metrics of every config over padded batches [S, B] of one width."""
            return metrics(*totals_on_devices(params, split, index, weights))

        def set_embedding(state, matrix):
            """Every config's embedding table (and its best-params copy) set to matrix [V, E]."""

            def put(params):
                table = params[EMBEDDING]["embedding"]
                value = jnp.broadcast_to(matrix.astype(table.dtype), table.shape)
                return {**params, EMBEDDING: {**params[EMBEDDING], "embedding": value}}

            return state.replace(params=put(state.params), best_params=put(state.best_params))

        def end_epoch(state, val_metrics, patience, min_delta):
            return update(state, val_metrics, patience, min_delta)

        self._init = jax.jit(lift(functools.partial(init_state, program), (0, 0)))
        self._train_epoch = jax.jit(on_devices(train_epoch), donate_argnums=0)
        self.evaluate = jax.jit(evaluate)
        self.evaluate_totals = jax.jit(totals_on_devices)
        self.metrics = jax.jit(metrics)
        self.set_embedding = jax.jit(set_embedding, donate_argnums=0)
        self.current_rate = jax.jit(
            lift(lambda state: learning_rate(state.hparams, state.step, state.lr_scale), (0,))
        )
        self.end_epoch = jax.jit(end_epoch, donate_argnums=0)
        self.stop_now = jax.jit(
            lift(functools.partial(stop_now, restore_best=early_stopping.restore_best), (0,)),
            donate_argnums=0,
        )

    def init(self, hparams, keys):
        """The initial state of configs with hparams ([K] arrays) and keys [K], on the
        population's devices (or of one config: scalars and one key)."""
        if not self.population:
            return self._init(hparams, keys)
        return init_on_mesh(lambda part: self._init(*part), (hparams, keys), self.devices)

    def place(self, state):
        """A population state (e.g. restored from a snapshot) on the population's devices."""
        return on_mesh(state, self.devices) if self.population else state

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
