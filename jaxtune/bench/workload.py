"""What a throughput measurement trains and how it is timed: the case's random workload,
the K configs of a population, median seconds per call, the process's peak RSS."""

from __future__ import annotations

import resource
import time
from typing import Any

import numpy as np

UNLIMITED = 1 << 30  # step budget of a measured config: timed calls never exhaust it


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def workload(case: dict[str, Any], steps: int):
    """Random tokens [steps*B, T] and the config of a benchmark case (full-length sequences)."""
    from jaxtune.data.dataset import Split
    from jaxtune.space import complete_config

    config = complete_config(
        {
            "architecture": case["architecture"],
            "batch_size": case["batch_size"],
            "hidden_size": case["hidden_size"],
            "num_filters": case["hidden_size"],
            "filter_sizes": tuple(case.get("filter_sizes", (3, 4, 5))),
            "embedding_dim": case["embedding_dim"],
            "optimizer": "adam",
        }
    )
    rng = np.random.default_rng(0)
    count = steps * case["batch_size"]
    split = Split(
        tokens=rng.integers(2, case["vocab_size"], (count, case["seq_len"]), dtype=np.int32),
        lengths=np.full(count, case["seq_len"], np.int32),
        labels=rng.integers(0, case["num_classes"], count, dtype=np.int32),
    )
    index = np.arange(count, dtype=np.int32).reshape(steps, case["batch_size"])
    return config, split, index, np.ones(index.shape, np.float32)


def population_configs(config: dict[str, Any], width: int) -> list[dict[str, Any]]:
    """K configs that differ in their dynamic hyperparameters, as a sweep's would."""
    return [
        {**config, "learning_rate": 1e-3 * (1 + k % 4), "dropout": 0.1 * (k % 3)}
        for k in range(width)
    ]


def timed_calls(call, repeats: int, target_seconds: float):
    """Median seconds per call: one warm-up, then `repeats` timed blocks of n calls each."""
    import jax

    start = time.perf_counter()
    jax.block_until_ready(call())
    warm = time.perf_counter() - start
    calls = max(1, int(round(target_seconds / max(warm, 1e-6))))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            result = call()
        jax.block_until_ready(result)
        times.append((time.perf_counter() - start) / calls)
    return float(np.median(times)), calls
