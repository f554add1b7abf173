"""One throughput measurement, run in its own process so peak RSS belongs to it alone.

`python -m jaxtune.bench.measure MODE JSON` prints one JSON line. Modes:
  population  K configs as one vmapped population, whole-epoch scans
  sequential  the same configs one at a time, a jitted single-config step per minibatch
  mixed       K configs of 4 batch sizes and 3 optimizers, merged or as separate groups
  trial       one trial per process as Optuna or Keras Tuner run it (the parent times it)
  torch       PyTorch, one config at a time (on the CPU, or the case's torch_device)
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

import numpy as np

import jaxtune  # noqa: F401  (XLA flags before jax starts)
from jaxtune.bench.workload import (
    UNLIMITED,
    peak_rss_bytes,
    population_configs,
    timed_calls,
    workload,
)


def _program(config, case):
    from jaxtune.models import build_classifier
    from jaxtune.population.program import Program

    model = build_classifier(
        config,
        case["vocab_size"],
        case["num_classes"],
        fused_backward=case.get("fused_backward", True),
        scan_unroll=case.get("unroll", 1),
    )
    merged = case.get("merge", "none") == "all"  # budget.merge: the union optimizer
    return Program(
        model=model,
        optimizer=None if merged else config["optimizer"],
        nesterov=config["nesterov"] and not merged,
        embedding_update=case.get("embedding_update", "dense"),
    )


def resolve_chunk(case: dict[str, Any]) -> int | None:
    """The case's `chunk` ("auto" by default, as a sweep's budget) for this backend."""
    import jax

    from jaxtune.spec import Budget

    return Budget(chunk=case.get("chunk", "auto")).resolved_chunk(jax.default_backend())


class PopulationEpochs:
    """K configs of a case as a population, compiled: each `call()` trains one epoch of
    `steps` minibatches (what the benchmark times and the profiler traces)."""

    def __init__(self, case: dict[str, Any], width: int, steps: int):
        import jax.numpy as jnp

        from jaxtune.population.factory import make_population
        from jaxtune.population.hparams import hparam_arrays, trial_keys
        from jaxtune.population.status import EarlyStopping
        from jaxtune.population.step import to_device

        config, split, index, weights = workload(case, steps)
        configs = population_configs(config, width)
        population = make_population(
            _program(config, case),
            EarlyStopping(),
            chunk=resolve_chunk(case),
            devices=case.get("devices"),  # None: every device, as a sweep's default
        )
        self.state = population.init(
            hparam_arrays(configs, steps_per_epoch=steps, max_steps=UNLIMITED),
            trial_keys(0, range(width)),
        )
        self.args = (to_device(split), index, weights, jnp.float32(np.inf))
        start = time.perf_counter()
        self.compiled = population.train_round.lower(self.state, *self.args).compile()
        self.compile_seconds = time.perf_counter() - start

    def call(self):
        self.state, metrics = self.compiled(self.state, *self.args)
        return metrics


def measure_population(
    case: dict[str, Any], width: int, steps: int, repeats: int, target_seconds: float
) -> dict[str, Any]:
    import jax

    epochs = PopulationEpochs(case, width, steps)
    memory = epochs.compiled.memory_analysis()
    seconds, calls = timed_calls(epochs.call, repeats, target_seconds)
    active = int(np.asarray(jax.device_get(epochs.state.life.active)).sum())
    return {
        "K": width,
        "chunk": resolve_chunk(case),
        # devices holding the trained population's configs (sharding.config_mesh)
        "devices": len(epochs.state.train.step.sharding.device_set),
        "steps_per_call": steps,
        "calls_per_repeat": calls,
        "seconds_per_call": seconds,
        "config_steps_per_s": width * steps / seconds,
        "compile_s": epochs.compile_seconds,
        "peak_rss_bytes": peak_rss_bytes(),
        "xla_argument_bytes": int(memory.argument_size_in_bytes),
        "xla_temp_bytes": int(memory.temp_size_in_bytes),
        "active_after": active,
    }


def measure_sequential(
    case: dict[str, Any], configs_count: int, steps: int, repeats: int, target_seconds: float
) -> dict[str, Any]:
    """One config at a time, as the engine trains a lone config (a population of width 1
    on one device); each minibatch is one call of its jitted step."""
    import jax.numpy as jnp

    from jaxtune.population.factory import make_population
    from jaxtune.population.hparams import hparam_arrays, trial_keys
    from jaxtune.population.status import EarlyStopping
    from jaxtune.population.step import to_device

    config, split, index, weights = workload(case, steps)
    population = make_population(_program(config, case), EarlyStopping(), devices=1)
    device_split = to_device(split)
    max_loss = jnp.float32(np.inf)
    per_config = []
    compile_seconds = None
    for k, one in enumerate(population_configs(config, configs_count)):
        hparams = hparam_arrays([one], steps_per_epoch=steps, max_steps=UNLIMITED)
        state = population.init(hparams, trial_keys(0, [k]))
        if compile_seconds is None:
            start = time.perf_counter()
            compiled = population.train_round.lower(
                state, device_split, index[:1], weights[:1], max_loss
            ).compile()
            compile_seconds = time.perf_counter() - start
        per_config.append(
            _time_steps(
                compiled, state, device_split, index, weights, max_loss, repeats, target_seconds
            )
        )
    seconds_per_step = float(np.median(per_config))
    return {
        "configs": configs_count,
        "seconds_per_config_step": seconds_per_step,
        "config_steps_per_s": 1.0 / seconds_per_step,
        "compile_s": compile_seconds,
        "peak_rss_bytes": peak_rss_bytes(),
    }


def _time_steps(compiled, state, split, index, weights, max_loss, repeats, target_seconds):
    """Seconds per step when each minibatch is its own call of the compiled one-step program."""
    holder = {"state": state}

    def epoch():
        for step in range(len(index)):
            holder["state"], metrics = compiled(
                holder["state"], split, index[step : step + 1], weights[step : step + 1], max_loss
            )
        return metrics

    seconds, _ = timed_calls(epoch, repeats, target_seconds)
    return seconds / len(index)


def run_trial(case: dict[str, Any], steps: int) -> dict[str, Any]:
    """Everything one trial of a per-process tuner does: build, compile, train `steps` steps."""
    result = measure_sequential(case, 1, steps, repeats=1, target_seconds=0.0)
    return {"steps": steps, **result}


def main(argv: list[str]) -> None:
    mode, payload = argv[0], json.loads(argv[1])
    if payload.get("cpus"):
        # Pinned to these cores, one CPU device each; before jax starts, since its CPU
        # client sizes its devices and thread pool when it starts.
        os.sched_setaffinity(0, payload["cpus"])
        os.environ["JAX_NUM_CPU_DEVICES"] = str(len(payload["cpus"]))
    case = payload["case"]
    if mode == "population":
        result = measure_population(
            case, payload["K"], payload["steps"], payload["repeats"], payload["target_seconds"]
        )
    elif mode == "sequential":
        result = measure_sequential(
            case,
            payload["configs"],
            payload["steps"],
            payload["repeats"],
            payload["target_seconds"],
        )
    elif mode == "mixed":
        from jaxtune.bench.mixed import measure_mixed

        result = measure_mixed(
            case,
            payload["K"],
            payload["steps"],
            payload["repeats"],
            payload["target_seconds"],
            payload["merged"],
        )
    elif mode == "trial":
        result = run_trial(case, payload["steps"])
    elif mode == "torch":
        from jaxtune.bench.torch_baseline import measure_torch

        result = measure_torch(
            case,
            payload["configs"],
            payload["steps"],
            payload["repeats"],
            payload["target_seconds"],
        )
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    jax = sys.modules.get("jax")  # None if this mode never imported it (counted after timing)
    process = {"cpus": len(os.sched_getaffinity(0)), "jax_devices": jax and jax.device_count()}
    print(json.dumps({**result, "process": process}))  # the cores and devices it could use


if __name__ == "__main__":
    main(sys.argv[1:])
