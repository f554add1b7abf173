"""jaxtune: a whole hyperparameter sweep of sequence classifiers as one vectorized JAX program."""

import os


def cores() -> int:
    """The cores this process may run on."""
    count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return count or 1


def _add_xla_flag(flag: str) -> None:
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {flag}".strip()


# XLA CPU's concurrency-optimized scheduler lets independent LAPACK calls (the QR of
# orthogonal initializers, one per gate and layer) run at once, and with jaxlib 0.10.2
# that wedges the runtime: every thread idle, block_until_ready never returns (reproduced
# within ~5 runs of a vmapped init; 160 runs clean with the flag below). Set before jax
# creates its CPU client; a user's own XLA_FLAGS setting wins.
_SCHEDULER_FLAG = "xla_cpu_enable_concurrency_optimized_scheduler"
if _SCHEDULER_FLAG not in os.environ.get("XLA_FLAGS", ""):
    _add_xla_flag(f"--{_SCHEDULER_FLAG}=false")

# XLA CPU's multi-output fusion (off by default in jaxlib 0.10.2) lets one loop compute
# several outputs from shared inputs: Adam's new table, first and second moments become
# one pass over the [V, E] table, its gradient and moments instead of three, each
# re-reading the gradient (memory-bound; 24% of a B16 H64 LSTM step). Interleaved A/B,
# LSTM B16 H64 K=8: 169/166/145 vs 139/125/125 config-steps/s (benchmarks/README.md).
# A user's own xla_backend_extra_options wins; JAXTUNE_MULTI_OUTPUT_FUSION=0 turns it off
# (jaxlib 0.10.2 aborts on sibling scatters sharing indices, avoided in embedding_rows.py;
# this is the way out should a program hit another such case).
if os.environ.get("JAXTUNE_MULTI_OUTPUT_FUSION", "1") != "0" and (
    "xla_backend_extra_options" not in os.environ.get("XLA_FLAGS", "")
):
    _add_xla_flag("--xla_backend_extra_options=xla_cpu_use_multi_output_fusion")

# One CPU device per core: a population's configs are split over the devices
# (sharding.py), so each core trains its own configs instead of both cores splitting
# every small per-timestep op of one config (+20-45% config-steps/s on 2 cores,
# benchmarks/README.md). Work on unsharded arrays still runs on device 0 with every
# core. A user's JAX_NUM_CPU_DEVICES or XLA device-count flag wins.
if "JAX_NUM_CPU_DEVICES" not in os.environ and "host_platform_device_count" not in os.environ.get(
    "XLA_FLAGS", ""
):
    os.environ["JAX_NUM_CPU_DEVICES"] = str(cores())

__version__ = "0.1.0"

# The Python API (api.py); the CLI runs through the same functions.
from jaxtune.api import Sweep, SweepError, TextData, load, sweep  # noqa: E402

__all__ = ["Sweep", "SweepError", "TextData", "cores", "load", "sweep"]
