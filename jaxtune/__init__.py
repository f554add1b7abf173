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

__version__ = "0.1.0"
