"""The config axis: mapped over (`config_map`), and run `chunk` configs at a time inside
one jitted call (`over_chunks`)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax
from jax.extend.core import jaxpr_as_fun


def traced_once(fn, *args):
    """fn traced once on args: (a function of arguments shaped like args that evaluates
    that trace, fn's output shapes).

    A merged program's functions take seconds to trace (each variant's step, forward and
    backward); a loop that needs fn's output shapes for its initial carry and then calls
    fn in its body would trace it twice.
    """
    jaxpr, shapes = jax.make_jaxpr(fn, return_shape=True)(*args)
    structure = jax.tree.structure(shapes)

    def call(*like_args):
        return jax.tree.unflatten(structure, jaxpr_as_fun(jaxpr)(*jax.tree.leaves(like_args)))

    return call, shapes


def over_chunks(vmapped, chunk: int | None, per_config, *shared, updates_input=False, active=None):
    """vmapped(per_config[k0:k0+chunk], *shared) for every chunk of the leading K axis.

    The chunks run one after another in a `fori_loop`, so only `chunk` configs' tensors
    are live in one step. With `updates_input`, vmapped returns (new per_config, extras)
    and each chunk's new values are written back into the per-config tree in place (a
    train step); otherwise its results are stacked. With `active(per_config)` (a [K] bool),
    a chunk whose configs are all inactive is skipped: it keeps its values and its
    results (extras) are zeros, exactly what the guarded step computes for it, so stopped
    configs and padding slots cost nothing. chunk None (or >= K) is one plain vmapped call.
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

    # vmapped traced once, on the first chunk: the chunk loop, the skip branch and the
    # stacked results all need it. Every result carries the config axis, so the stacked
    # results and a skipped chunk's zeros have its shapes but for that axis.
    traced, shapes = traced_once(vmapped, part(per_config, 0, chunk), *shared)
    results = shapes[1] if updates_input else shapes

    def zeros(size):
        return jax.tree.map(lambda s: jnp.zeros((size, *s.shape[1:]), s.dtype), results)

    def compute(inputs):  # vmapped(inputs, *shared) for a chunk of `chunk` configs
        return traced(inputs, *shared)

    def run(carry, start, size):
        tree, stacked = carry
        inputs = part(tree, start, size)
        # The remainder chunk (size < chunk) is traced on its own.
        step = compute if size == chunk else lambda x: vmapped(x, *shared)

        def skip(inputs):
            return (inputs, zeros(size)) if updates_input else zeros(size)

        out = (
            step(inputs)
            if active is None
            else lax.cond(jnp.any(active(inputs)), step, skip, inputs)
        )
        if updates_input:
            tree = write(tree, out[0], start)
            out = out[1]
        return tree, write(stacked, out, start)

    carry = lax.fori_loop(
        0, full, lambda i, carry: run(carry, i * chunk, chunk), (per_config, zeros(width))
    )
    if rest:
        carry = run(carry, full * chunk, rest)
    return carry if updates_input else carry[1]


def config_map(fn, in_axes=0):
    """`jax.vmap(fn, in_axes)` over the config axis, except that a single config (K = 1:
    a lone config, or each chunk of a chunk-1 population) runs `fn` itself on the
    arrays without their leading axis. XLA CPU runs the size-1 batch dimensions of a
    vmapped program's matmuls and loops slower than the plain program (an LSTM B64 H128
    config alone: 17.0 against 19.7 config-steps/s, benchmarks/README.md). Every output
    of fn carries the config axis. Map a whole loop (factory.py maps the epoch's loop over
    minibatches), not a loop's body: squeezed and expanded at every step, the state was
    copied at every step (3x slower)."""
    vmapped = jax.vmap(fn, in_axes=in_axes)

    def run(*args):
        axes = in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args)
        mapped = [arg for arg, axis in zip(args, axes, strict=True) if axis == 0]
        if jax.tree.leaves(mapped)[0].shape[0] != 1:
            return vmapped(*args)
        alone = [
            jax.tree.map(lambda leaf: leaf[0], arg) if axis == 0 else arg
            for arg, axis in zip(args, axes, strict=True)
        ]
        return jax.tree.map(lambda leaf: leaf[None], fn(*alone))

    return run
