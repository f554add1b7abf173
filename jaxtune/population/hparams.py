"""A population's traced inputs: dynamic hyperparameters as [K] arrays, per-trial keys."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxtune.optim import optimizer_code
from jaxtune.population.program import Variant, variant_of
from jaxtune.schedules import schedule_code
from jaxtune.space import DYNAMIC_NAMES, user_architecture


def hparam_arrays(
    configs: Sequence[Mapping[str, Any]],
    *,
    steps_per_epoch: int | Sequence[int],
    max_steps: int | None = None,
    variants: Sequence[Variant] = (),
) -> dict[str, np.ndarray]:
    """Dynamic hyperparameters of K complete configs as [K] arrays (the traced values),
    a user module's among them.

    Also `total_steps` [K], each config's budget of optimizer steps (it completes at the
    first evaluation that reaches it, and a cosine schedule spans it): `epochs` *
    steps_per_epoch (one count, or each config's own), or `max_steps` when the spec sets
    train.max_steps. With the `variants` of a merged program, `variant` [K] int32 is
    each config's index among them.
    """

    def as_number(name, value):
        if name == "clip_norm" and value is None:
            return np.inf
        if name == "lr_schedule":
            return schedule_code(value)
        if name == "optimizer":
            return optimizer_code(value)
        return float(value)

    arrays = {
        name: np.array([as_number(name, c[name]) for c in configs], np.float32)
        for name in DYNAMIC_NAMES
    }
    # A user module's traced hyperparameters (models/user.py), each config's own value.
    for config in configs:
        user = user_architecture(config["architecture"])
        for name, entry in user.dynamic.items() if user is not None else ():
            if name not in arrays:
                arrays[name] = np.array([c.get(name, entry.default) for c in configs], np.float32)
    arrays["embedding_trainable"] = arrays["embedding_trainable"].astype(bool)
    arrays["nesterov"] = arrays["nesterov"].astype(bool)
    arrays["optimizer"] = arrays["optimizer"].astype(np.int32)
    arrays["epochs"] = arrays["epochs"].astype(np.int32)
    arrays["lr_schedule"] = arrays["lr_schedule"].astype(np.int32)
    if max_steps is None:
        per_epoch = np.asarray(steps_per_epoch)
        arrays["total_steps"] = (arrays["epochs"] * per_epoch).astype(np.float32)
    else:
        arrays["total_steps"] = np.full(len(configs), max_steps, np.float32)
    if variants:
        arrays["variant"] = np.array(
            [variants.index(variant_in(c, variants)) for c in configs], np.int32
        )
    return arrays


def variant_in(config: Mapping[str, Any], variants: Sequence[Variant]) -> Variant:
    """The config's variant among a merged program's `variants` (program.Variant)."""
    return variant_of(
        config,
        by_kind=any(v.optimizer is not None for v in variants),
        widths=tuple(name for name, _ in variants[0].widths),
    )


def trial_keys(sweep_seed: int, trial_ids: Sequence[int]):
    """[K] keys, `fold_in(sweep_key, trial_id)`: a config's randomness never depends on its slot."""
    sweep_key = jax.random.key(sweep_seed)
    return jax.vmap(jax.random.fold_in, in_axes=(None, 0))(
        sweep_key, jnp.asarray(trial_ids, jnp.uint32)
    )
