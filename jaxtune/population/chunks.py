"""The config axis run `chunk` configs at a time, inside one jitted call."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax


def over_chunks(vmapped, chunk: int | None, per_config, *shared, updates_input=False, active=None):
    """vmapped(per_config[k0:k0+chunk], *shared) for every chunk of the leading K axis.

    The chunks run one after another in a `fori_loop`, so only `chunk` configs' tensors
    are live in one step. With `updates_input`, vmapped returns (new per_config, extras)
    and each chunk's new values are written back into the per-config tree in place (a
    train step), and a chunk whose configs are all inactive (`active(per_config)`, a [K] bool) is
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
                jnp.any(active(inputs)), lambda x: vmapped(x, *shared), skip, inputs
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
