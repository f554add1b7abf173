"""Optimizers built from per-config hyperparameter arrays.

A program of one optimizer kind runs that kind's optax optimizer (`kind_optimizer`). A
merged program (merge.py) that mixes kinds keeps one union state for every config: run
one config at a time, each config branches into its kind's optax update on that state
(`on_union_state`); vmapped (`budget.merge: all`), the kind (adam, adamw, rmsprop, sgd)
and nesterov are per-config arrays of one fused update (`build_optimizer`, below).

One union state holds the buffers the kinds have in common: `mu` (Adam's first moment;
the momentum trace of RMSprop and SGD), `nu` (Adam's second moment; RMSprop's mean
square) and Adam's step `count`. Each kind's update is computed as optax's
`adam`, `adamw`, `rmsprop` and `sgd` compute it, and the config's kind code selects the
one it applies, so a config's trajectory is the plain optax optimizer's (tested per
kind). The union costs an Adam state per config: SGD carries one buffer more than
optax's SGD with momentum would. Centered RMSprop would need a third buffer and is not
offered.

Gradient clipping (global norm; `clip_norm` = inf disables it) comes first. Weight
decay is decoupled for adamw and an L2 term added to the gradient otherwise. `hparams`
stays the single source of truth (what `optax.inject_hyperparams` keeps in its state),
so schedulers can edit it in one place.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxtune.models import EMBEDDING
from jaxtune.space import OPTIMIZERS  # a config's `optimizer` code is its index here


def optimizer_code(kind: str) -> int:
    return OPTIMIZERS.index(kind)


class UnionState(NamedTuple):
    count: jax.Array  # int32, Adam's bias-correction step
    mu: optax.Updates
    nu: optax.Updates


def union_optimizer(hparams) -> optax.GradientTransformation:
    """The per-config update after clipping: hparams["optimizer"] (int32 code),
    ["nesterov"] (bool) and the numbers each kind reads.

    Each kind's update is optax's (`scale_by_adam`, `scale_by_rms` with eps in the root,
    `trace`, `scale_by_learning_rate`, `add_decayed_weights`), its divisions by scalars
    written as products, so results agree to float32 rounding (tests/test_optim.py
    compares every kind with the optax optimizer). They are one elementwise expression
    per leaf with per-config coefficients, which XLA fuses into one pass over (grad,
    param, mu, nu), with one square root and one division per element. Computing each
    kind's update with optax and selecting among them cost 15% of an LSTM population's
    step and 45% of a small GRU's; this form costs nothing measurable on the LSTM and
    about 20% of a GRU B16 H64 step, which is mostly the optimizer's pass over the
    embedding table (benchmarks/README.md). Hence `budget.merge` is opt-in.
    """
    code, nesterov = hparams["optimizer"], hparams["nesterov"]
    lr, weight_decay, momentum = (
        hparams["learning_rate"],
        hparams["weight_decay"],
        hparams["momentum"],
    )
    b1, b2 = hparams["beta1"], hparams["beta2"]
    is_adamw = code == optimizer_code("adamw")
    is_adam = (code == optimizer_code("adam")) | is_adamw
    is_rmsprop = code == optimizer_code("rmsprop")
    is_sgd = code == optimizer_code("sgd")
    l2 = jnp.where(is_adamw, 0.0, weight_decay)  # adamw decays the weights after Adam
    decoupled = jnp.where(is_adamw, weight_decay, 0.0)
    decay2 = jnp.where(is_rmsprop, hparams["rho"], b2)  # the mean square's decay
    # mu <- first * x + second * mu: Adam's moment, or the momentum trace.
    first = jnp.where(is_adam, 1.0 - b1, 1.0)
    second = jnp.where(is_adam, b1, momentum)

    def init(params):
        return UnionState(
            count=jnp.zeros([], jnp.int32),
            mu=optax.tree.zeros_like(params),
            nu=optax.tree.zeros_like(params),
        )

    def update(grads, state, params):
        count = jnp.where(state.count < jnp.iinfo(jnp.int32).max, state.count + 1, state.count)
        # Adam's bias corrections (optax.tree.bias_correction) as scalar factors: the
        # numerator mu_hat = mu_factor * mu + g_factor * g (Nesterov's look-ahead, or mu /
        # (1 - b1^t)), the denominator sqrt(nu * nu_factor) + eps. RMSprop's rsqrt(nu + eps)
        # shares the one square root: per element, one sqrt and one division for any kind.
        correction1 = (1 - b1**count).astype(jnp.float32)
        correction1_next = (1 - b1 ** (count + 1)).astype(jnp.float32)
        correction2 = (1 - b2**count).astype(jnp.float32)
        mu_factor = jnp.where(nesterov, b1 / correction1_next, 1 / correction1)
        g_factor = jnp.where(nesterov, (1 - b1) / correction1, 0.0)
        nu_factor = jnp.where(is_rmsprop, 1.0, 1 / correction2)
        inside = jnp.where(is_rmsprop, 1e-8, 0.0)  # RMSprop's eps, in the root
        outside = jnp.where(is_rmsprop, 0.0, 1e-8)  # Adam's eps, after it

        def leaf(g, p, mu, nu):
            g = g + l2 * p  # optax.add_decayed_weights before the optimizer
            nu = jnp.where(is_sgd, nu, (1 - decay2) * (g**2) + decay2 * nu)
            scale = 1 / (jnp.sqrt(nu * nu_factor + inside) + outside)
            rms = -lr * (scale * g)  # scale_by_rms, then the rate
            mu = first * jnp.where(is_rmsprop, rms, g) + second * mu
            adam = -lr * ((mu_factor * mu + g_factor * g) * scale + decoupled * p)
            traced = jnp.where(nesterov, jnp.where(is_rmsprop, rms, g) + momentum * mu, mu)
            other = jnp.where(is_sgd, -lr * traced, traced)
            return jnp.where(is_adam, adam, other), mu, nu

        out = jax.tree.map(leaf, grads, params, state.mu, state.nu)
        updates, mu, nu = jax.tree.transpose(
            jax.tree.structure(grads), jax.tree.structure((0, 0, 0)), out
        )
        return updates, UnionState(count=count, mu=mu, nu=nu)

    return optax.GradientTransformation(init, update)


def kind_optimizer(kind: str, hparams, *, nesterov: bool = False):
    """One kind's optimizer as optax ships it (a group of one kind, budget.merge none):
    clip, then L2 weight decay and adam / rmsprop / sgd, or adamw's decoupled decay."""
    lr, weight_decay = hparams["learning_rate"], hparams["weight_decay"]
    clip = optax.clip_by_global_norm(hparams["clip_norm"])
    if kind == "adamw":
        b1, b2 = hparams["beta1"], hparams["beta2"]
        return optax.chain(
            clip, optax.adamw(lr, b1=b1, b2=b2, weight_decay=weight_decay, nesterov=nesterov)
        )
    if kind == "adam":
        base = optax.adam(lr, b1=hparams["beta1"], b2=hparams["beta2"], nesterov=nesterov)
    elif kind == "rmsprop":
        # Momentum is always present (0 is plain RMSprop) so every config has one state shape.
        momentum = hparams["momentum"]
        base = optax.rmsprop(lr, decay=hparams["rho"], momentum=momentum, nesterov=nesterov)
    elif kind == "sgd":
        base = optax.sgd(lr, momentum=hparams["momentum"], nesterov=nesterov)
    else:
        raise ValueError(f"unknown optimizer {kind!r}")
    return optax.chain(clip, optax.add_decayed_weights(weight_decay), base)


# The union state's buffers each kind's optax state keeps, by the kind's field name.
KIND_FIELDS = {
    "adam": {"count": "count", "mu": "mu", "nu": "nu"},
    "adamw": {"count": "count", "mu": "mu", "nu": "nu"},
    "rmsprop": {"nu": "nu", "trace": "mu"},  # the momentum trace lives in mu
    "sgd": {"trace": "mu"},
}


def on_union_state(kind: str, hparams, *, nesterov: bool = False) -> optax.GradientTransformation:
    """`kind_optimizer` run on the union state of `build_optimizer`.

    A population whose configs branch on their kind (`population/step.py`'s variants)
    keeps one optimizer state structure for all of them, the union; each branch reads
    its kind's buffers out of it into optax's own state (`optax.tree_utils.tree_set`),
    runs optax's update, and writes them back. The update is optax's exactly; buffers
    the kind does not use pass through unchanged.
    """
    plain = kind_optimizer(kind, hparams, nesterov=nesterov)
    fields = KIND_FIELDS[kind]

    def update(grads, state, params):
        union = state.union
        own = optax.tree_utils.tree_set(
            plain.init(params), **{name: getattr(union, field) for name, field in fields.items()}
        )
        updates, own = plain.update(grads, own, params)
        written = {field: optax.tree_utils.tree_get(own, name) for name, field in fields.items()}
        return updates, MergedState(union=union._replace(**written))

    def init(params):
        zeros = optax.tree.zeros_like(params)
        return MergedState(union=UnionState(count=jnp.zeros([], jnp.int32), mu=zeros, nu=zeros))

    return optax.GradientTransformation(init, update)


class MergedState(NamedTuple):
    """The optimizer state of a population that mixes kinds by branching: the union."""

    union: UnionState


def build_optimizer(hparams) -> optax.GradientTransformation:
    """The gradient transformation of one config: clip, then its kind's update."""
    return optax.chain(optax.clip_by_global_norm(hparams["clip_norm"]), union_optimizer(hparams))


def mask_frozen_embedding(tree, embedding_trainable):
    """Zero the embedding's entries of a params-shaped tree when the config freezes it.

    Applied to updates, so weight decay cannot move a frozen table: its rows stay
    bit-identical. (Its gradient is already zero: population/step.py stops it at the
    lookup, so a frozen table does not count in the clip norm either.)
    """
    return {
        name: (
            jax.tree.map(lambda t: jnp.where(embedding_trainable, t, jnp.zeros_like(t)), sub)
            if name == EMBEDDING
            else sub
        )
        for name, sub in tree.items()
    }
