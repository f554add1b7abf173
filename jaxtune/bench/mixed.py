"""A mixed population's throughput: K configs of 4 batch sizes and 3 optimizer kinds in
one merged program (budget.merge, merge.py) against the same configs as separate groups.

Both train every config through the same examples: one epoch of `steps` micro-batches of
the case's batch size B (the smallest), which a config of batch size r * B takes r at a
time. Merged, the K configs are one population; separate, each (batch size, kind) is its
own population, padded to a power of two as the planner pads a chunked one (plan.py),
and the groups run one after another, as a sweep's populations do. The figure is
examples per second over all configs (K * steps * B per epoch), the epoch's median time,
and the compile time of all programs.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np

from jaxtune.bench.workload import UNLIMITED, peak_rss_bytes, population_configs, timed_calls

RATIOS = (1, 2, 4, 8)  # batch sizes: the case's B times these
KINDS = ("adam", "rmsprop", "sgd")


def mixed_configs(config: dict[str, Any], width: int) -> list[dict[str, Any]]:
    """K configs cycling through every (batch size, kind), differing in dynamic values too."""
    variants = [(ratio, kind) for ratio in RATIOS for kind in KINDS]
    return [
        {
            **one,
            "batch_size": config["batch_size"] * variants[k % len(variants)][0],
            "optimizer": variants[k % len(variants)][1],
            "momentum": 0.9 if variants[k % len(variants)][1] == "sgd" else 0.0,
        }
        for k, one in enumerate(population_configs(config, width))
    ]


def _population(case, configs, variants, slots):
    """(compiled train_round, state, per-epoch args) of `configs` in one population."""
    import jax.numpy as jnp

    from jaxtune.bench.measure import _program, resolve_chunk
    from jaxtune.population.factory import make_population
    from jaxtune.population.hparams import hparam_arrays, trial_keys
    from jaxtune.population.status import EarlyStopping

    program = dataclasses.replace(_program(configs[0], case), variants=variants)
    population = make_population(
        program, EarlyStopping(), chunk=resolve_chunk(case), devices=case.get("devices")
    )
    padded = configs + configs[:1] * (slots - len(configs))
    hparams = hparam_arrays(padded, steps_per_epoch=1, max_steps=UNLIMITED, variants=variants)
    state = population.init(hparams, trial_keys(0, range(slots)))
    life = state.life
    state = state.replace(life=life.replace(active=life.active.at[len(configs) :].set(False)))
    return population, state, jnp.float32(np.inf)


def measure_mixed(
    case: dict[str, Any], width: int, steps: int, repeats: int, target_seconds: float, merged: bool
) -> dict[str, Any]:
    from jaxtune.bench.measure import resolve_chunk
    from jaxtune.bench.workload import workload
    from jaxtune.merge import merge_policy, split_group
    from jaxtune.plan import padded_width
    from jaxtune.population.step import to_device

    config, split, index, weights = workload(case, steps)
    configs = mixed_configs(config, width)
    device_split = to_device(split)
    if merged:  # one config at a time: each branches; vmapped: every variant runs
        ((members, variants),) = split_group(configs, merge_policy("all", resolve_chunk(case)))
        groups = [(members, variants)]
    else:
        by_variant: dict[tuple, list[int]] = {}
        for k, one in enumerate(configs):
            by_variant.setdefault((one["batch_size"], one["optimizer"]), []).append(k)
        groups = [(members, ()) for members in by_variant.values()]
    calls, compile_seconds = [], 0.0
    for members, variants in groups:
        group = [configs[k] for k in members]
        slots = padded_width(len(group), max(width, 1))
        population, state, max_loss = _population(case, group, variants, slots)
        ratio = 1 if variants else group[0]["batch_size"] // config["batch_size"]
        rows = len(index) // ratio
        args = (
            device_split,
            index.reshape(rows, -1),  # [S / r, r * B]: this group's own batches
            weights.reshape(rows, -1),
            max_loss,
        )
        start = time.perf_counter()
        compiled = population.train_round.lower(state, *args).compile()
        compile_seconds += time.perf_counter() - start
        calls.append({"compiled": compiled, "state": state, "args": args})

    def epoch():
        for call in calls:
            call["state"], metrics = call["compiled"](call["state"], *call["args"])
        return metrics

    seconds, repeat_calls = timed_calls(epoch, repeats, target_seconds)
    examples = width * steps * config["batch_size"]
    return {
        "K": width,
        "merged": merged,
        "programs": len(groups),
        "batch_sizes": sorted({c["batch_size"] for c in configs}),
        "optimizers": sorted({c["optimizer"] for c in configs}),
        "steps_per_call": steps,
        "calls_per_repeat": repeat_calls,
        "seconds_per_epoch": seconds,
        "examples_per_s": examples / seconds,
        "compile_s": compile_seconds,
        "peak_rss_bytes": peak_rss_bytes(),
    }
