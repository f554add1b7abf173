"""One optimizer for every config: the kind (adam, adamw, rmsprop, sgd) and every number
are per-config arrays, so a population mixes optimizers in one compiled program.

Each kind's update is optax's own transformation (`scale_by_adam`, `scale_by_rms`,
`trace`, `scale_by_learning_rate`, `add_decayed_weights`, as `optax.adam`, `adamw`,
`rmsprop` and `sgd` chain them), run on one union state that holds the buffers the kinds
have in common: `mu` (Adam's first moment; the momentum trace of RMSprop and SGD), `nu`
(Adam's second moment; RMSprop's mean square) and Adam's step `count`. The config's
kind code selects which update it applies and which buffers it writes; the others are
computed and discarded (elementwise work, fused into the same pass over the buffers).
So a config's trajectory is the plain optax optimizer's (tested per kind). The union
costs an Adam state per config: SGD with momentum carries one unused buffer more than
optax's SGD would. Centered RMSprop would need a third buffer and is not offered.

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


def _select(code, choices: dict[int, optax.Updates]):
    """The tree of choices[code] (code a traced scalar), leaf by leaf; a code not among
    the keys gets the first choice."""
    (first, *rest) = choices.items()
    tree = first[1]
    for value, other in rest:
        tree = jax.tree.map(lambda t, o, value=value: jnp.where(code == value, o, t), tree, other)
    return tree


def union_optimizer(hparams) -> optax.GradientTransformation:
    """The per-config update after clipping: hparams["optimizer"] (int32 code),
    ["nesterov"] (bool) and the numbers each kind reads."""
    code, nesterov = hparams["optimizer"], hparams["nesterov"]
    lr, weight_decay = hparams["learning_rate"], hparams["weight_decay"]
    adamw, rmsprop, sgd = (optimizer_code(k) for k in ("adamw", "rmsprop", "sgd"))

    def init(params):
        return UnionState(
            count=jnp.zeros([], jnp.int32),
            mu=optax.tree.zeros_like(params),
            nu=optax.tree.zeros_like(params),
        )

    def update(grads, state, params):
        # L2 on the gradient for adam, rmsprop and sgd; adamw decays the weights after Adam.
        l2 = jnp.where(code == adamw, 0.0, weight_decay)
        grads = jax.tree.map(lambda g, p: g + l2 * p, grads, params)
        adam_state = optax.ScaleByAdamState(count=state.count, mu=state.mu, nu=state.nu)

        def adam(nesterov_: bool):
            scale = optax.scale_by_adam(hparams["beta1"], hparams["beta2"], nesterov=nesterov_)
            return scale.update(grads, adam_state)

        (adam_plain, adam_next), (adam_nesterov, _) = adam(False), adam(True)
        adam_direction = _select(nesterov.astype(jnp.int32), {0: adam_plain, 1: adam_nesterov})
        decoupled = jnp.where(code == adamw, weight_decay, 0.0)
        adam_updates = jax.tree.map(lambda u, p: -lr * (u + decoupled * p), adam_direction, params)

        def traced(updates, trace):
            """optax.trace(momentum, nesterov) on `updates`, both variants, selected."""
            plain, next_trace = optax.trace(hparams["momentum"], nesterov=False).update(
                updates, optax.TraceState(trace=trace)
            )
            ahead, _ = optax.trace(hparams["momentum"], nesterov=True).update(
                updates, optax.TraceState(trace=trace)
            )
            return _select(nesterov.astype(jnp.int32), {0: plain, 1: ahead}), next_trace.trace

        scaled, rms_state = optax.scale_by_rms(decay=hparams["rho"]).update(
            grads, optax.ScaleByRmsState(nu=state.nu)
        )
        rms_updates, rms_trace = traced(jax.tree.map(lambda u: -lr * u, scaled), state.mu)
        sgd_direction, sgd_trace = traced(grads, state.mu)
        sgd_updates = jax.tree.map(lambda u: -lr * u, sgd_direction)

        # adam and adamw (codes 0 and 1) both take the first choice.
        updates = _select(code, {0: adam_updates, rmsprop: rms_updates, sgd: sgd_updates})
        mu = _select(code, {0: adam_next.mu, rmsprop: rms_trace, sgd: sgd_trace})
        nu = _select(code, {0: adam_next.nu, rmsprop: rms_state.nu, sgd: state.nu})
        return updates, UnionState(count=adam_next.count, mu=mu, nu=nu)

    return optax.GradientTransformation(init, update)


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
