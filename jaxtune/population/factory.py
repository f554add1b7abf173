"""make_population: the pure, jitted functions that train K configs of one static signature.

The single-config functions of `step.py` and `lifecycle.py` are lifted with `jax.vmap`
(the batch is shared), split over devices and chunks, and jitted once per signature. A
single config is a population of width 1; the one thing that depends on K is
`chunks.config_map`, which runs a width-1 step (a lone config, or a chunk of one) as the
plain single-config program.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from jaxtune.embedding_rows import batch_rows, gather_rows, scatter_rows
from jaxtune.models.classifier import EMBEDDING
from jaxtune.population import objectives
from jaxtune.population.chunks import config_map, over_chunks, traced_once
from jaxtune.population.lifecycle import after_evaluation, stop
from jaxtune.population.program import Program
from jaxtune.population.shapes import corner_slice
from jaxtune.population.state import ConfigState
from jaxtune.population.status import EarlyStopping
from jaxtune.population.step import (
    STEP_METRICS,
    DeviceSplit,
    eval_step,
    guarded_train_step,
    init_state,
    native_state,
    stored_state,
)
from jaxtune.sharding import init_on_mesh, local_devices, on_mesh, over_devices, replicated


class Population(NamedTuple):
    """The functions of one static signature. Every state and metric has a leading K axis.

    init(hparams, keys, embedding=None) -> ConfigState on the population's devices.
      hparams: [K] arrays (hparams.py); keys [K]; embedding [V, E] or None: the table
      every config starts from (pretrained vectors).
    place(state) -> the state (e.g. restored from a snapshot) on the population's devices.
    share(data, width) -> data (splits, minibatch indices) on every device a population of
      `width` uses, put there once instead of copied by every call.
    train_round(state, split, index, weights, max_loss, bounds=None) -> (state, metrics):
      every config through the minibatches index, weights [S, B] of split; max_loss a
      traced scalar (inf: no bound); bounds None or [V, 2] int32, the rows each variant
      steps on (rounds.Call); metrics summed over the steps, [K] each. The state is donated.
    eval_inputs(hparams) -> what an evaluation reads of the hparams ({name: [K]}): the
      variant codes ([K] int32) of a program whose variants differ in width, each config
      evaluated at its own, and a user module's traced hyperparameters.
    evaluate_totals((params, eval_inputs[, wanted]), split, index, weights) ->
      (totals, stacked): the sums of objectives.evaluation_sums ({name: [K]}, confusion
      [K, C, C]) and its per-example outputs ({name: [K, S, B, ...]}, ctc's decodings, else
      empty); wanted ([K] bool): the configs whose metrics are used (computed a chunk at
      a time, the others may be skipped: zeros).
    metrics(totals) -> the task's metrics (tasks.py), per_class_accuracy ([K] each; [K, C])
      and the confusion where the task counts one.
    after_evaluation(state, val_metrics, patience, min_delta, due=None) -> (state, rates
      [K]): best so far, early stopping, plateau, completion (lifecycle.py) of the configs
      that are `due` ([K] bool; None: all); rates: each config's learning rate for its
      next step. The state is donated.
    stop(state, where, status) -> the state with the active configs of `where` ([K] bool)
      ended with `status` (int32 scalar: STOPPED by the time limit, PRUNED by a scheduler).
    refill(state, fresh, where) -> the state with the slots of `where` ([K] bool) taken
      from `fresh` (an `init` of the configs that take them): a gather on the config axis
      that never recompiles, whichever slots it names. The state is donated.
    compact(state, index) -> the population of the slots `index` ([W] int32) of
      `state`, in that order, on the devices a population of W uses (compaction.py).
    exploit(state, source, hparams) -> each config's params, optimizer state and
      learning-rate scale those of config source[k] ([K] int32; k itself: unchanged), and
      the hyperparameters of `hparams` ({name: [K]}) replaced: PBT's exploit and explore
      (schedulers/pbt.py), a gather on the config axis. The state is donated.
    """

    init: Callable
    place: Callable
    share: Callable
    train_round: Callable
    eval_inputs: Callable
    evaluate_totals: Callable
    metrics: Callable
    after_evaluation: Callable
    stop: Callable
    refill: Callable
    compact: Callable
    exploit: Callable


def make_population(
    program: Program,
    early_stopping: EarlyStopping,
    *,
    chunk: int | None = None,
    devices: int | None = None,
) -> Population:
    """The jitted functions of `program`'s populations.

    `chunk` sets how many configs are vectorized together: None (all K at once, plain
    `jax.vmap`) or a width c, in which case the jitted round loops over the population c
    configs at a time (`chunks.over_chunks`, a `fori_loop` over chunks), and each chunk
    runs through all of the call's minibatches before the next one starts: a config's
    state is sliced out and written back once per call, not at every step. On a CPU the
    per-config kernels run fastest when their tensors stay in cache, so a small c beats
    one K-wide vmap there (benchmarks/README.md); the math does not depend on c.

    `devices` (None: every local device; `budget.devices`) splits a population's K axis
    over that many devices (`sharding.over_devices`), each training and evaluating its
    share of the configs, c at a time; neither changes the math.
    """
    mesh_devices = local_devices(devices)
    lazy = program.embedding_update == "lazy"
    train_step = functools.partial(guarded_train_step, program)

    if lazy and program.variants:
        raise ValueError("the lazy embedding update runs one batch size and optimizer per program")

    def step(state, batch, max_loss, rows, inverse, variant=None):
        """One step of one config."""
        if not lazy:
            return train_step(state, batch, max_loss, None, variant)
        # The lazy embedding update: the step sees only the batch's rows of the table and
        # its moments ([N, E]), written back in place after it.
        new, metrics = train_step(gather_rows(state, rows), batch, max_loss, inverse)
        return scatter_rows(state, new, rows), metrics

    def variant_steps(v, state, split: DeviceSplit, index, weights, max_loss, rows, bounds):
        """One config through the batches [S, B] (rows bounds[v] of them); metrics summed.

        rows: None, or (the lazy update) each batch's (rows [S, N], inverse [S, B, T]).
        v: the config's variant index in a merged program (else 0): its Variant's batches
        are `ratio` consecutive micro-batches of the stream: [S, B] -> [S / ratio, ratio * B].
        bounds: None (every row), or [V, 2] int32: the rows [lo, hi) each variant steps on
        in this call (rounds.Call), multiples of its ratio.
        """
        variant = program.variants[v] if program.variants else None
        ratio = 1
        if variant is not None:
            ratio = variant.batch_size // program.micro_batch
            index = index.reshape(index.shape[0] // ratio, -1)  # [S / r, r * B]
            weights = weights.reshape(weights.shape[0] // ratio, -1)  # [S / r, r * B]
            # At the variant's own width (the corner of the widest, shapes.py).
            stored = state.train
            state = state.replace(train=native_state(program, stored, variant))
        # The steps after the last one with a real example (the fill of a length
        # bucket's last block, bucketing.py) would change nothing: the loop stops
        # before them, so a block can be long without costing its fill.
        has_examples = jnp.any(weights > 0, axis=1)  # [S]
        num_steps = jnp.max(jnp.where(has_examples, jnp.arange(1, len(weights) + 1), 0))
        start = 0
        if bounds is not None:
            start = bounds[v, 0] // ratio
            num_steps = jnp.minimum(num_steps, bounds[v, 1] // ratio)
        per_step = rows if lazy else (None, None)

        def body(i, carry):
            state, totals = carry
            step_rows = jax.tree.map(lambda r: r[i], per_step)
            batch = split.gather(index[i], weights[i])
            state, metrics = step(state, batch, max_loss, *step_rows, variant)
            return state, jax.tree.map(jnp.add, totals, metrics)

        # The summed metrics start at zero (their names are the step's: tracing a step
        # only for its output's shape was a second trace of every variant's step).
        zeros = dict.fromkeys(STEP_METRICS, jnp.zeros((), jnp.float32))
        state, totals = lax.fori_loop(start, num_steps, body, (state, zeros))
        if variant is not None:
            state = state.replace(train=stored_state(program, stored, state.train))
        return state, totals

    def steps_one(state, *shared):
        """One config's loop; in a merged program, the loop of its variant. Computed one
        config at a time (chunk 1, a CPU's default) only the config's own branch runs;
        vmapped, every variant's loop runs and each config keeps its own."""
        if len(program.variants) < 2:
            return variant_steps(0, state, *shared)
        branches = [functools.partial(variant_steps, v) for v in range(len(program.variants))]
        return lax.switch(state.train.hparams["variant"], branches, state, *shared)

    # Every config in `state` (the population, or one chunk of it) through the batches;
    # metrics [k] each. A chunk of one config runs the plain single-config loop.
    steps = config_map(steps_one, in_axes=(0, None, None, None, None, None, None))

    # A chunked population runs each chunk through all of the round's steps (over_chunks),
    # so a config's state is sliced out and written back once per call, not once per step.
    def chunked_steps(state, *shared):
        return over_chunks(
            steps, chunk, state, *shared, updates_input=True, active=lambda s: s.life.active
        )

    def train_round(state: ConfigState, split: DeviceSplit, index, weights, max_loss, bounds=None):
        # best_params is not an input of a step: keep it out of the chunk loop's carry.
        best_params = state.life.best_params
        light = state.replace(life=state.life.replace(best_params=None))
        rows = None
        if lazy:  # every batch's distinct tokens, found once for all configs
            vocab_size = state.train.params[EMBEDDING]["embedding"].shape[-2]
            rows = lax.map(
                lambda ids: batch_rows(split.gather(*ids).tokens, vocab_size), (index, weights)
            )
        new, metrics = chunked_steps(light, split, index, weights, max_loss, rows, bounds)
        return new.replace(life=new.life.replace(best_params=best_params)), metrics

    def eval_inputs(hparams):
        """What an evaluation reads of a population's hparams ({name: [K]}): the variant
        codes of a merged program, and a user module's traced hyperparameters."""
        return {"variant": hparams.get("variant"), "model": program.model_hparams(hparams)}

    def evaluate_one(per_config, batch):
        """One config's summed loss and confusion; per_config: (params, eval_inputs, ...)."""
        params, inputs = per_config[:2]
        if not program.models:
            return eval_step(program, params, batch, None, inputs["model"])

        def at_width(variant, params):
            native = corner_slice(params, program.native_params(variant))
            return eval_step(program, native, batch, variant, inputs["model"])

        branches = [functools.partial(at_width, v) for v in program.variants]
        return lax.switch(inputs["variant"], branches, params)

    def evaluate_batch(per_config, batch):
        # Computed a chunk at a time, a chunk of configs none of which is wanted is skipped.
        wanted = per_config[2] if len(per_config) > 2 else None
        return over_chunks(
            config_map(evaluate_one, in_axes=(0, None)),
            chunk,
            per_config,
            batch,
            active=None if wanted is None else lambda inputs: inputs[2],
        )

    def evaluate_totals(per_config, split: DeviceSplit, index, weights):
        """Every config's sums over batches [S, B] ({name: [K]}; confusion [K, C, C]) and
        per-example outputs ({name: [K, S, B, ...]}); per_config: (params, eval_inputs of
        the hparams[, wanted [K] bool])."""

        evaluate, shapes = traced_once(
            evaluate_batch, per_config, split.gather(index[0], weights[0])
        )

        def body(totals, batch_ids):
            sums, stacked = evaluate(per_config, split.gather(*batch_ids))
            return jax.tree.map(jnp.add, totals, sums), stacked

        zeros = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), shapes[0])
        totals, stacked = lax.scan(body, zeros, (index, weights))
        # Every output carries the config axis first (sharding.over_devices).
        return totals, jax.tree.map(lambda ys: jnp.moveaxis(ys, 0, 1), stacked)

    def metrics(totals):
        """The task's validation metrics and per-class accuracy ([K] each; [K, C]), and the
        confusion where the task counts one."""
        values = jax.vmap(functools.partial(objectives.metrics, program.task))(totals)
        if "confusion" in totals:
            values["confusion"] = totals["confusion"]
        return values

    def init_share(hparams, keys, embedding):
        init = functools.partial(init_state, program)
        if program.models:
            # Configs of several widths: one config at a time, each running only its own
            # width's initialisers. Vmapped, every width's would run at once, and several
            # orthogonal (QR) initialisers at once wedge the XLA CPU runtime (a sweep hung
            # in its first init; see sharding.init_on_mesh).
            state = lax.map(lambda args: init(*args), (hparams, keys))
        else:
            state = jax.vmap(init)(hparams, keys)
        if embedding is None:
            return state

        def put(params):  # every config's table (and its best-params copy) set to [V, E]
            table = params[EMBEDDING]["embedding"]
            value = jnp.broadcast_to(embedding.astype(table.dtype), table.shape)
            return {**params, EMBEDDING: {**params[EMBEDDING], "embedding": value}}

        return state.replace(
            train=state.train.replace(params=put(state.train.params)),
            life=state.life.replace(best_params=put(state.life.best_params)),
        )

    init_jit = jax.jit(init_share)

    def init(hparams, keys, embedding=None) -> ConfigState:
        return init_on_mesh(lambda part: init_jit(*part, embedding), (hparams, keys), mesh_devices)

    lifecycle = {"monitor": early_stopping.monitor, "restore_best": early_stopping.restore_best}
    each_evaluated = jax.vmap(
        functools.partial(after_evaluation, **lifecycle), in_axes=(0, 0, None, None, 0)
    )

    def evaluated(state, val_metrics, patience, min_delta, due=None):
        return each_evaluated(state, val_metrics, patience, min_delta, due)

    return Population(
        init=init,
        place=lambda state: on_mesh(state, mesh_devices),
        share=lambda data, width: replicated(data, width, mesh_devices),
        train_round=jax.jit(over_devices(train_round, mesh_devices), donate_argnums=0),
        eval_inputs=eval_inputs,
        evaluate_totals=jax.jit(over_devices(evaluate_totals, mesh_devices)),
        metrics=jax.jit(metrics),
        after_evaluation=jax.jit(evaluated, donate_argnums=0),
        stop=jax.jit(
            jax.vmap(
                functools.partial(stop, restore_best=early_stopping.restore_best),
                in_axes=(0, 0, None),
            ),
            donate_argnums=0,
        ),
        refill=jax.jit(_refill, donate_argnums=0),
        compact=lambda state, index: on_mesh(_compact(state, index), mesh_devices),
        exploit=jax.jit(_exploit, donate_argnums=0),
    )


def _exploit(state: ConfigState, source, hparams) -> ConfigState:
    """Each config's training state from config source[k]; `hparams` set."""
    train = state.train

    def take(leaf):
        return jnp.take(leaf, source, axis=0)

    return state.replace(
        train=train.replace(
            params=jax.tree.map(take, train.params),
            opt_state=jax.tree.map(take, train.opt_state),
            lr_scale=take(train.lr_scale),
            hparams={
                **train.hparams,
                **{n: v.astype(train.hparams[n].dtype) for n, v in hparams.items()},
            },
        )
    )


@jax.jit
def _compact(state: ConfigState, index) -> ConfigState:
    """The population of slots index ([W] int32) of `state`, in that order."""
    return jax.tree.map(lambda leaf: jnp.take(leaf, index, axis=0), state)


def _refill(state: ConfigState, fresh: ConfigState, where) -> ConfigState:
    """Every leaf's slots of `where` ([K] bool) from `fresh`, the others from `state`."""

    def pick(new, old):
        return jnp.where(where.reshape(where.shape + (1,) * (old.ndim - 1)), new, old)

    return jax.tree.map(pick, fresh, state)
