"""The config axis of a population split over local devices.

A population's configs are independent, so each device can train its own share of them
with the single-device program (`jax.shard_map` over a 1-D mesh named `configs`; the
batch and the data are replicated). Off CPU these are the accelerators. On a CPU,
jaxtune starts one host device per core (`jaxtune/__init__.py`): each device's program
then runs its own configs' kernels, so the two cores work on two configs at once
instead of splitting every small per-timestep op between them (benchmarks/README.md).

A population of K configs uses gcd(K, devices) devices, so every device holds the same
number of configs; K = 1 (or any K with no common factor) runs on one device.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

CONFIGS = "configs"  # the mesh axis that carries the population's K axis


def local_devices(requested: int | None = None) -> tuple[jax.Device, ...]:
    """The first `requested` devices of the default backend (None: all of them)."""
    devices = jax.local_devices()
    return tuple(devices[: requested or len(devices)])


def config_mesh(width: int, devices: Sequence[jax.Device]) -> Mesh | None:
    """A mesh of gcd(width, len(devices)) devices, or None when that is one device."""
    count = math.gcd(width, len(devices))
    return None if count < 2 else Mesh(np.array(devices[:count]), (CONFIGS,))


def _mesh_of(per_config, devices: Sequence[jax.Device]) -> Mesh | None:
    """The mesh for a tree whose leaves all carry the population's K axis first."""
    return config_mesh(jax.tree.leaves(per_config)[0].shape[0], devices)


def on_mesh(per_config, devices: Sequence[jax.Device]):
    """per_config (every leaf with the K axis) split over the population's devices.

    A population's state lives there from its init on, so each jitted function sees one
    input sharding and compiles once (a state on one device, then split, would compile
    every function twice). Already there, nothing is copied.
    """
    mesh = _mesh_of(per_config, devices)
    if mesh is None:
        return per_config
    return jax.device_put(per_config, NamedSharding(mesh, PartitionSpec(CONFIGS)))


def replicated(shared, width: int, devices: Sequence[jax.Device]):
    """shared (the data every config reads) on each device of a population of `width`.

    Put there once per population: an input left on one device would be copied to the
    others by every call of a sharded function (a device-to-device transfer per round,
    which tests/test_population_factory.py's transfer guard catches).
    """
    mesh = config_mesh(width, devices)
    if mesh is None:
        return shared
    return jax.device_put(shared, NamedSharding(mesh, PartitionSpec()))


def init_on_mesh(init: Callable, per_config, devices: Sequence[jax.Device]):
    """init(per_config) split over the population's devices, never holding more than the
    finished population does.

    Each device's share is made by one call of `init` on the default device (one compile
    for every share) and moved to its device leaf by leaf, each source freed once copied;
    the default device's own share is made last and stays. So while a share moves, the
    memory in use is the shares already made plus this one and one of its leaves twice:
    less than the whole population, whose peak the memory estimate counts. (Made whole
    and then moved, its largest leaf, the [K, V, E] embedding table, was alive twice: one
    table per config more than the estimate. Made on all the devices at once by one
    sharded program, the devices' orthogonal initialisers run their LAPACK QRs
    concurrently, which wedges jaxlib 0.10.2's CPU runtime: reproduced, the hang the
    scheduler flag in jaxtune/__init__.py guards against within one device.)
    """
    mesh = _mesh_of(per_config, devices)
    if mesh is None:
        return init(per_config)
    targets = list(mesh.devices.flat)
    width = jax.tree.leaves(per_config)[0].shape[0]
    size = width // len(targets)

    def move(leaf, device):
        if leaf.devices() == {device}:
            return leaf
        moved = jax.block_until_ready(jax.device_put(leaf, device))
        leaf.delete()
        return moved

    shares = [None] * len(targets)
    for index in reversed(range(len(targets))):
        start, device = index * size, targets[index]
        share = init(jax.tree.map(lambda leaf, start=start: leaf[start : start + size], per_config))
        shares[index] = jax.tree.map(lambda leaf, device=device: move(leaf, device), share)
    sharding = NamedSharding(mesh, PartitionSpec(CONFIGS))
    return jax.tree.map(
        lambda *pieces: jax.make_array_from_single_device_arrays(
            (width, *pieces[0].shape[1:]), sharding, list(pieces)
        ),
        *shares,
    )


def over_devices(fn: Callable, devices: Sequence[jax.Device]) -> Callable:
    """fn(per_config, *shared) with per_config's leading K axis split over the devices.

    Every output of fn must carry the K axis. Used inside `jax.jit`: the mesh is chosen
    when the function is traced, from the population's width.
    """

    def run(per_config, *shared):
        mesh = _mesh_of(per_config, devices)
        if mesh is None:
            return fn(per_config, *shared)
        split, replicated = PartitionSpec(CONFIGS), PartitionSpec()
        return jax.shard_map(
            fn,
            mesh=mesh,
            in_specs=(split, *[replicated] * len(shared)),
            out_specs=split,
            # The loops' carries start as replicated zeros and become per-device values:
            # the outputs vary over the mesh by construction, so the check adds nothing.
            check_vma=False,
        )(per_config, *shared)

    return run
