"""The training and evaluation step for ONE config.

`factory.py` lifts these with `jax.vmap` to K configs; nothing here knows about K.
"""

from __future__ import annotations

import functools

import flax.struct
import jax
import jax.numpy as jnp
import optax

from jaxtune.data.dataset import Split
from jaxtune.models.classifier import EMBEDDING
from jaxtune.optim import mask_frozen_embedding
from jaxtune.population import objectives
from jaxtune.population.program import Program, Variant
from jaxtune.population.shapes import corner_pad, corner_slice, corner_write
from jaxtune.population.state import ConfigState, TrainState, initial_state
from jaxtune.population.status import Status
from jaxtune.schedules import learning_rate


@flax.struct.dataclass
class Batch:
    tokens: jax.Array  # [B, T] int32
    lengths: jax.Array  # [B] int32
    labels: jax.Array  # [B] int32 (classify), [B, T] (tag) or [B, S] (ctc)
    weights: jax.Array  # [B] float32, 0 for padding examples
    label_lengths: jax.Array | None = None  # [B] int32, ctc's target lengths


@flax.struct.dataclass
class DeviceSplit:
    """A whole split on device; batches are gathered from it inside the jitted epoch."""

    tokens: jax.Array  # [N, T] int32
    lengths: jax.Array  # [N] int32
    labels: jax.Array  # [N] int32 (classify), [N, T] (tag) or [N, S] (ctc)
    label_lengths: jax.Array | None = None  # [N] int32, ctc's target lengths

    def gather(self, index, weights) -> Batch:
        """index, weights: [B] -> Batch."""
        label_lengths = None if self.label_lengths is None else self.label_lengths[index]
        return Batch(
            self.tokens[index], self.lengths[index], self.labels[index], weights, label_lengths
        )


# What a guarded step returns beside the state: float32 scalars, summed over a round's steps.
STEP_METRICS = ("loss_sum", "correct", "count")


def init_state(program: Program, hparams, key) -> ConfigState:
    """Initialise one config. key: this trial's key, `fold_in(sweep_key, trial_id)`.

    In a program whose variants differ in width, a config is initialised at its own
    width and stored in the corner of the widest shapes (shapes.py)."""
    init_key, train_key = jax.random.split(key)
    tokens = jnp.zeros((1, 8), jnp.int32)

    def init(variant):
        params = program.model_for(variant).init(init_key, tokens, jnp.ones((1,), jnp.int32))
        params = params["params"]
        return params, program.optimizer_for(hparams, variant).init(params)

    if not program.models:
        params, opt_state = init(None)
        return initial_state(params, opt_state, hparams, train_key)
    params_shapes = program.widest_params()
    opt_shapes = jax.eval_shape(program.optimizer_for(hparams).init, params_shapes)

    def padded(variant):
        params, opt_state = init(variant)
        return corner_pad(params, params_shapes), corner_pad(opt_state, opt_shapes)

    branches = [functools.partial(padded, v) for v in program.variants]
    params, opt_state = jax.lax.switch(hparams["variant"], branches)
    return initial_state(params, opt_state, hparams, train_key)


def native_state(program: Program, train: TrainState, variant: Variant) -> TrainState:
    """A config's training state at its variant's own width (the corner of the widest)."""
    if not program.models:
        return train
    params = program.native_params(variant)
    opt_state = jax.eval_shape(program.optimizer_for(train.hparams, variant).init, params)
    return train.replace(
        params=corner_slice(train.params, params),
        opt_state=corner_slice(train.opt_state, opt_state),
    )


def stored_state(program: Program, stored: TrainState, native: TrainState) -> TrainState:
    """`native` (a config's state at its own width) written back into the corner of `stored`."""
    if not program.models:
        return native
    return native.replace(
        params=corner_write(stored.params, native.params),
        opt_state=corner_write(stored.opt_state, native.opt_state),
    )


def train_step(
    program: Program,
    params,
    opt_state,
    hparams,
    key,
    batch: Batch,
    rate,
    inverse=None,
    variant=None,
):
    """One update of one config on a shared batch -> (params, opt_state, metrics).

    rate: this step's learning rate (the schedule's value, schedules.py). With `inverse`
    (the lazy embedding update) params and opt_state are row views whose table holds
    only the batch's rows, and inverse [B, T] is each token's row in it
    (embedding_rows.py): the step reads and updates just those rows.
    """
    trainable = hparams["embedding_trainable"]

    def loss_fn(params):
        options = {
            "dropout_rate": hparams["dropout"],
            "recurrent_dropout_rate": hparams["recurrent_dropout"],
            "hparams": program.model_hparams(hparams),
            "key": key,
            "train": True,
        }
        rows = batch.tokens if inverse is None else inverse  # [B, T]
        xs = jnp.take(params[EMBEDDING]["embedding"], rows, axis=0)  # [B, T, E]
        # A frozen table's gradient is exactly zero, made on the [B, T, E] lookup: a
        # select over the whole [V, E] gradient cost 5% of a B16 H64 LSTM step (and a
        # `where`, unlike a product, also zeroes a non-finite cotangent).
        xs = jnp.where(trainable, xs, jax.lax.stop_gradient(xs))
        rest = {name: sub for name, sub in params.items() if name != EMBEDDING}
        logits = program.model_for(variant).apply(
            {"params": rest}, xs, batch.lengths, method="classify", **options
        )  # [B, C], or [B, T, C] for tag and ctc
        return objectives.train_loss(program.task, logits, batch, hparams, program.class_weights)

    (loss, (correct, count)), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
    optimizer = program.optimizer_for({**hparams, "learning_rate": rate}, variant)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    params = optax.apply_updates(params, mask_frozen_embedding(updates, trainable))
    metrics = {"loss": loss, "correct": correct, "count": count}
    return params, opt_state, {**metrics, "grad_norm": optax.tree.norm(grads)}


def guarded_train_step(
    program: Program, state: ConfigState, batch: Batch, max_loss, inverse=None, variant=None
) -> tuple[ConfigState, dict]:
    """`train_step` that leaves inactive configs untouched and isolates divergence.

    A config whose minibatch loss is non-finite or above `max_loss` (a traced scalar; inf
    disables the bound), or whose gradient is non-finite, keeps its last good state and
    becomes FAILED; it never affects another config, which only shares the batch.
    Deciding from the loss and the gradient (not from the new parameters) lets XLA fuse
    the keep-or-update select into the optimizer update: 15% of an LSTM step on this CPU
    (benchmarks/README.md). Finite gradients under a bounded loss give finite updates.
    A batch with no real example (the fill of a length bucket's last block) changes nothing.
    With `inverse`, state is a row view (see `train_step`; factory.py makes it); `variant`:
    the config's variant in a merged program (its optimizer).
    """
    train, life = state.train, state.life
    key = jax.random.fold_in(train.key, train.step)
    rate = learning_rate(train.hparams, train.step, train.lr_scale)
    params, opt_state, metrics = train_step(
        program, train.params, train.opt_state, train.hparams, key, batch, rate, inverse, variant
    )
    finite = (
        jnp.isfinite(metrics["loss"])
        & (metrics["loss"] <= max_loss)
        & jnp.isfinite(metrics["grad_norm"])
    )
    # A batch with no example, or a config whose step budget is spent (it completes at the
    # next evaluation), takes no step.
    has_examples = (jnp.sum(batch.weights) > 0) & (train.step < train.hparams["total_steps"])
    ok = life.active & finite & has_examples
    diverged = life.active & ~finite & has_examples

    def keep(new, old):
        return jax.tree.map(lambda n, o: jnp.where(ok, n, o), new, old)

    train = train.replace(
        params=keep(params, train.params),
        opt_state=keep(opt_state, train.opt_state),
        step=train.step + ok.astype(jnp.int32),
    )
    life = life.replace(
        active=life.active & ~diverged,
        status=jnp.where(diverged, jnp.int32(Status.FAILED), life.status),
        failed_step=jnp.where(diverged, state.train.step, life.failed_step),
    )
    count = metrics["count"]  # examples (tag: real tokens)
    return ConfigState(train, life), {
        "loss_sum": jnp.where(ok, metrics["loss"] * count, 0.0),
        "correct": jnp.where(ok, metrics["correct"], 0.0),
        "count": jnp.where(ok, count, 0.0),
    }


def eval_step(
    program: Program, params, batch: Batch, variant: Variant | None = None, model_hparams=None
):
    """What one batch adds to one config's evaluation (no dropout): ({name: sum}, {name:
    per-example output}), objectives.evaluation_sums; `params` at the config's own width;
    `model_hparams`: a user module's traced hyperparameters (Program.model_hparams)."""
    model = program.model_for(variant)
    logits = model.apply(
        {"params": params}, batch.tokens, batch.lengths, hparams=model_hparams
    )  # [B, C] / [B, T, C]
    return objectives.evaluation_sums(program.task, logits, batch)


def to_device(split: Split) -> DeviceSplit:
    return DeviceSplit(
        tokens=jnp.asarray(split.tokens),
        lengths=jnp.asarray(split.lengths),
        labels=jnp.asarray(split.labels),
        label_lengths=None if split.label_lengths is None else jnp.asarray(split.label_lengths),
    )
