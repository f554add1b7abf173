"""What every benchmark script shares: the settings of a run, a measurement process
(`measure.py`, one per row, so its peak RSS is its own), the machine's GEMM peak, and a
case's config and FLOPs. Scripts import these public names only."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import time
from typing import Any

from jaxtune.bench.flops import train_flops_per_step
from jaxtune.space import complete_config

MEMORY_LIMIT_BYTES = 24 * 2**30


def publish(out, stem: str, result: dict[str, Any], text: str) -> None:
    """A study benchmark's result: OUT/STEM.json and OUT/STEM.md (its table), printed."""
    from pathlib import Path

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / f"{stem}.md").write_text(text)
    print(text)


@dataclasses.dataclass(frozen=True)
class Settings:
    architectures: tuple[str, ...] = ("rnn", "gru", "lstm", "cnn")
    sizes: tuple[tuple[int, int], ...] = ((64, 128), (16, 64))  # (batch, hidden)
    widths: tuple[int, ...] = (1, 8, 32, 64, 128)
    embedding_dim: int = 100
    seq_len: int = 64
    vocab_size: int = 20000
    num_classes: int = 6
    steps: int = 16  # minibatches per jitted call: the engine's BLOCK_STEPS
    repeats: int = 3
    target_seconds: float = 2.0  # per timed repeat
    sequential_configs: int = 2
    trials: int = 3
    timeout: float = 3600.0
    mixed_width: int = 64  # K of the mixed-population row (bench/mixed.py)


QUICK = Settings(
    sizes=((4, 8),),
    widths=(1, 4),
    embedding_dim=8,
    seq_len=8,
    vocab_size=100,
    num_classes=3,
    steps=2,
    repeats=3,
    target_seconds=0.05,
    sequential_configs=2,
    trials=1,
    timeout=600.0,
    mixed_width=2,
)


def run_measurement(
    mode: str, payload: dict[str, Any], timeout: float
) -> tuple[dict[str, Any], float]:
    """Run one measurement process; returns its JSON result and its wall seconds."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "jaxtune.bench.measure", mode, json.dumps(payload)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"exit {done.returncode}: {tail}"}, wall
    return json.loads(done.stdout.strip().splitlines()[-1]), wall


def gemm_peak_gflops(repeats: int = 10, size: int = 2048) -> dict[str, float]:
    """The machine's float32 GEMM peak, GFLOP/s: the best of `repeats` timings of a
    [size, size] x [size, size] matmul, in the two ways this process can use the cores.

    `one_device`: one GEMM on the first device (XLA CPU's intra-op threads span every
    core); `every_device`: one GEMM on each device at once (the population's split runs
    this way), their summed rate. `peak` is the higher. Best rather than median: a peak is
    what the machine can reach, and on this shared machine the median of 5 one-device
    timings moved 25% between two runs of the same hour (269 vs 336 GFLOP/s).
    """
    import jax
    import jax.numpy as jnp
    import numpy as np
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    def best_seconds(call) -> float:
        jax.block_until_ready(call())
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            jax.block_until_ready(call())
            times.append(time.perf_counter() - start)
        return float(np.min(times))

    flops = 2 * size**3
    a = jnp.ones((size, size), jnp.float32)
    matmul = jax.jit(lambda x: x @ x)
    rates = {"one_device": flops / best_seconds(lambda: matmul(a)) / 1e9}
    devices = jax.devices()
    mesh = Mesh(np.array(devices), ("device",))
    spec = PartitionSpec("device")
    stacked = jax.device_put(
        jnp.ones((len(devices), size, size), jnp.float32), NamedSharding(mesh, spec)
    )  # [devices, size, size], one matrix on each device
    each = jax.jit(jax.shard_map(lambda x: x @ x, mesh=mesh, in_specs=spec, out_specs=spec))
    rates["every_device"] = len(devices) * flops / best_seconds(lambda: each(stacked)) / 1e9
    return {"peak": max(rates.values()), **rates}


def torch_available() -> str | None:
    """None when torch imports, else why its rows are absent."""
    try:
        import torch  # noqa: F401
    except ImportError:
        return "torch not installed (pip install -e '.[torch]')"
    return None


def case_of(
    settings: Settings, architecture: str, batch: int, hidden: int
) -> tuple[dict[str, Any], dict[str, Any], int]:
    """A benchmark case: what its measurement processes get, its complete config and its
    training FLOPs per config-step."""
    case = {
        "architecture": architecture,
        "batch_size": batch,
        "hidden_size": hidden,
        "embedding_dim": settings.embedding_dim,
        "seq_len": settings.seq_len,
        "vocab_size": settings.vocab_size,
        "num_classes": settings.num_classes,
    }
    config = complete_config(
        {
            "architecture": architecture,
            "batch_size": batch,
            "hidden_size": hidden,
            "num_filters": hidden,
            "embedding_dim": settings.embedding_dim,
        }
    )
    return case, config, train_flops_per_step(config, settings.seq_len, settings.num_classes)


def measurement_args(settings: Settings, case: dict[str, Any]) -> dict[str, Any]:
    """What every measurement process of a case gets, besides its own K or config count."""
    return {
        "case": case,
        "steps": settings.steps,
        "repeats": settings.repeats,
        "target_seconds": settings.target_seconds,
    }
