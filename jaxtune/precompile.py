"""Compiling a population's programs before its first round, several at a time.

A population's first round calls one training program per length bucket and one
evaluation program per validation bucket; each compiles when first called, one after
another, while the other cores wait (XLA's CPU compile runs on one core). Lowering and
compiling them all up front, one thread per core, puts every core to work; the calls
then find their executables in jax's compilation cache (`jit(f).lower(*args).compile()`
caches what `jit(f)(*args)` looks up, for the same argument shapes and shardings), so
nothing compiles twice (tests/test_precompile.py counts the backend compiles).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from jaxtune import cores

Job = tuple[Callable, tuple[Any, ...]]  # (a jax.jit function, the arguments of a call)


def precompile(jobs: Sequence[Job], workers: int | None = None) -> int:
    """Lower and compile each job's call (not run), `workers` at a time (None: one per
    core); returns how many. The arguments are only read: a donated state stays valid."""
    workers = max(1, min(len(jobs), workers or cores()))

    def compile_one(job: Job) -> None:
        function, args = job
        function.lower(*args).compile()

    if workers == 1:
        for job in jobs:
            compile_one(job)
    else:
        with ThreadPoolExecutor(workers, thread_name_prefix="jaxtune-compile") as pool:
            list(pool.map(compile_one, jobs))  # re-raises the first failure
    return len(jobs)
