"""Optax optimizers built from per-config hyperparameter arrays.

The optimizer *kind* is static; every number (learning rate, betas, momentum, rho,
weight decay, clip norm) is an array read from the config's `hparams`, so the
transformation is rebuilt inside the traced step from traced values and one
compiled program serves every value. This is what `optax.inject_hyperparams` does
with its state; here `hparams` stays the single source of truth, outside the
optimizer state, so schedulers can edit it in one place.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from jaxtune.models import EMBEDDING


def build_optimizer(kind: str, hparams, *, nesterov: bool = False):
    """The gradient transformation for one config.

    Gradient clipping (global norm; `clip_norm` = inf disables it) comes first. Weight
    decay is decoupled for adamw and an L2 term added to the gradient otherwise.
    """
    lr = hparams["learning_rate"]
    weight_decay = hparams["weight_decay"]
    clip = optax.clip_by_global_norm(hparams["clip_norm"])
    if kind == "adamw":
        return optax.chain(
            clip,
            optax.adamw(
                lr,
                b1=hparams["beta1"],
                b2=hparams["beta2"],
                weight_decay=weight_decay,
                nesterov=nesterov,
            ),
        )
    if kind == "adam":
        base = optax.adam(lr, b1=hparams["beta1"], b2=hparams["beta2"], nesterov=nesterov)
    elif kind == "rmsprop":
        # Momentum is always present (0 is plain RMSprop) so every config has one state shape.
        base = optax.rmsprop(
            lr, decay=hparams["rho"], momentum=hparams["momentum"], nesterov=nesterov
        )
    elif kind == "sgd":
        base = optax.sgd(lr, momentum=hparams["momentum"], nesterov=nesterov)
    else:
        raise ValueError(f"unknown optimizer {kind!r}")
    return optax.chain(clip, optax.add_decayed_weights(weight_decay), base)


def mask_frozen_embedding(tree, embedding_trainable):
    """Zero the embedding's entries of a params-shaped tree when the config freezes it.

    Applied to updates, so weight decay cannot move a frozen table: its rows stay
    bit-identical. (Its gradient is already zero: population/step.py stops it at the lookup, so a
    frozen table does not count in the clip norm either.)
    """
    return {
        name: (
            jax.tree.map(lambda t: jnp.where(embedding_trainable, t, jnp.zeros_like(t)), sub)
            if name == EMBEDDING
            else sub
        )
        for name, sub in tree.items()
    }
