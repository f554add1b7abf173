"""jaxtune: a whole hyperparameter sweep of sequence classifiers as one vectorized JAX program."""

import os

# XLA CPU's concurrency-optimized scheduler lets independent LAPACK calls (the QR of
# orthogonal initializers, one per gate and layer) run at once, and with jaxlib 0.10.2
# that wedges the runtime: every thread idle, block_until_ready never returns (reproduced
# within ~5 runs of a vmapped init; 160 runs clean with the flag below). Set before jax
# creates its CPU client; a user's own XLA_FLAGS setting wins.
_SCHEDULER_FLAG = "xla_cpu_enable_concurrency_optimized_scheduler"
if _SCHEDULER_FLAG not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} --{_SCHEDULER_FLAG}=false".strip()

# One CPU device per core: a population's configs are split over the devices
# (sharding.py), so each core trains its own configs instead of both cores splitting
# every small per-timestep op of one config (+20-45% config-steps/s on 2 cores,
# benchmarks/README.md). Work on unsharded arrays still runs on device 0 with every
# core. A user's JAX_NUM_CPU_DEVICES or XLA device-count flag wins.
if "JAX_NUM_CPU_DEVICES" not in os.environ and "host_platform_device_count" not in os.environ.get(
    "XLA_FLAGS", ""
):
    _cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    os.environ["JAX_NUM_CPU_DEVICES"] = str(_cores or 1)

__version__ = "0.1.0"
