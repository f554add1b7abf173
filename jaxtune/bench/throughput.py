"""The throughput benchmark: population vs one-at-a-time JAX vs per-process trials vs PyTorch.

Everything is measured in ONE run on this machine, so the ratios compare like with like
even when the machine is noisy. Each measurement runs in a fresh process (its peak RSS is
its own); each reports the median of several timed repeats.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import platform
from pathlib import Path
from typing import Any

from jaxtune.bench.harness import (
    MEMORY_LIMIT_BYTES,
    QUICK,
    Settings,
    case_of,
    gemm_peak_gflops,
    measurement_args,
    run_measurement,
    torch_available,
)
from jaxtune.bench.mixed import RATIOS
from jaxtune.bench.throughput_table import focus_width, markdown_table
from jaxtune.memory import estimate_memory


def run_case(
    settings: Settings, architecture: str, batch: int, hidden: int, peak: float, log
) -> dict[str, Any]:
    case, config, flops = case_of(settings, architecture, batch, hidden)
    tokens_per_step = batch * settings.seq_len
    common = measurement_args(settings, case)

    def rates(result):
        if "error" in result:
            return result
        steps_per_s = result["config_steps_per_s"]
        return {
            **result,
            "tokens_per_s": steps_per_s * tokens_per_step,
            "gflops": steps_per_s * flops / 1e9,
            "fraction_of_peak": steps_per_s * flops / 1e9 / peak,
        }

    population = []
    for width in settings.widths:
        result, _ = run_measurement("population", {**common, "K": width}, settings.timeout)
        population.append(rates(result))
        log(f"{architecture} B={batch} H={hidden} K={width}: {_brief(population[-1])}")
    focus = focus_width(settings.widths)

    def variant(label: str, width: int = focus, **overrides):
        """K = width with case overrides, e.g. a chunk or the embedding update."""
        result, _ = run_measurement(
            "population", {**common, "case": {**case, **overrides}, "K": width}, settings.timeout
        )
        result = rates(result)
        log(f"{architecture} B={batch} H={hidden} K={width} {label}: {_brief(result)}")
        return result

    # The same population as ONE vmap over all K configs, for comparison with the chunked
    # default, and with the opt-in lazy embedding update (train.embedding_update), also at
    # the smallest K for its memory slope.
    vmap_all = variant("one vmap", chunk="all")
    # The population's configs split over every device is the default; this is the same
    # K on one device, whose cores then share each config's ops (sharding.py).
    one_device = variant("one device", devices=1)
    lazy = variant("lazy embedding", embedding_update="lazy")
    lazy_small = variant("lazy embedding", min(settings.widths), embedding_update="lazy")
    mixed = mixed_population(
        settings, common, settings.mixed_width, log=lambda line: log(f"{architecture} {line}")
    )
    sequential, _ = run_measurement(
        "sequential", {**common, "configs": settings.sequential_configs}, settings.timeout
    )
    sequential = rates(sequential)
    log(f"{architecture} B={batch} H={hidden} one at a time: {_brief(sequential)}")

    trial_walls = []
    for _ in range(settings.trials):
        result, wall = run_measurement(
            "trial", {"case": case, "steps": settings.steps}, settings.timeout
        )
        if "error" in result:
            trial_walls = result
            break
        trial_walls.append(wall)
    if isinstance(trial_walls, dict):
        per_process = trial_walls
    else:
        trial_steps = 2 * settings.steps  # a warm-up epoch and a timed one
        median_wall = sorted(trial_walls)[len(trial_walls) // 2]
        per_process = rates(
            {
                "trials": settings.trials,
                "steps_per_trial": trial_steps,
                "seconds_per_trial": median_wall,
                "overhead_s": median_wall
                - trial_steps * sequential.get("seconds_per_config_step", 0.0),
                "config_steps_per_s": trial_steps / median_wall,
            }
        )
    log(f"{architecture} B={batch} H={hidden} per-process trials: {_brief(per_process)}")

    missing = torch_available()
    if missing:
        pytorch = {"error": missing}
    else:
        pytorch, _ = run_measurement(
            "torch", {**common, "configs": settings.sequential_configs}, settings.timeout
        )
        pytorch = rates(pytorch)
    log(f"{architecture} B={batch} H={hidden} PyTorch: {_brief(pytorch)}")

    def estimate(embedding_update: str):
        return estimate_memory(
            config,
            vocab_size=settings.vocab_size,
            num_classes=settings.num_classes,
            seq_len=settings.seq_len,
            embedding_update=embedding_update,
        )

    return {
        **case,
        "flops_per_config_step": flops,
        "population": population,
        "population_one_vmap": vmap_all,
        "population_one_device": one_device,
        "population_lazy_embedding": lazy,
        "population_lazy_embedding_smallest_K": lazy_small,
        "mixed_population": mixed,
        "one_at_a_time_jax": sequential,
        "per_process_trial": per_process,
        "pytorch": pytorch,
        "memory": _memory(population, estimate("dense")),
        "memory_lazy_embedding": _memory([lazy_small, lazy], estimate("lazy")),
        "ratios": {
            **_ratios(population, sequential, pytorch),
            **_lazy_ratio(lazy, pytorch, focus),
            **_split_ratio(population, one_device, focus),
        },
    }


def mixed_population(settings: Settings, common, width: int, log) -> dict[str, Any]:
    """K configs of 4 batch sizes and 3 optimizer kinds, merged into one program and as
    separate groups (bench/mixed.py), and the merged one's speed over the separate."""
    steps = max(settings.steps, max(RATIOS))  # whole steps of the largest batch size
    rows = {}
    for label, merged in (("merged", True), ("separate", False)):
        payload = {**common, "K": width, "steps": steps, "merged": merged}
        rows[label], _ = run_measurement("mixed", payload, settings.timeout)
        brief = rows[label].get("error") or f"{rows[label]['examples_per_s']:.0f} examples/s"
        log(f"mixed K={width} {label}: {brief}")
    if not any("error" in row for row in rows.values()):
        rows["merged_vs_separate"] = (
            rows["merged"]["examples_per_s"] / rows["separate"]["examples_per_s"]
        )
    return rows


def _lazy_ratio(lazy, pytorch, focus: int) -> dict[str, float]:
    if "error" in lazy or "error" in pytorch:
        return {}
    return {f"K{focus}_lazy_vs_pytorch": lazy["config_steps_per_s"] / pytorch["config_steps_per_s"]}


def _split_ratio(population, one_device, focus: int) -> dict[str, float]:
    """The focus K split over the devices (the default) against the same K on one device."""
    at = [p for p in population if p.get("K") == focus and "error" not in p]
    if not at or "error" in one_device:
        return {}
    return {
        f"K{focus}_devices_vs_one_device": at[0]["config_steps_per_s"]
        / one_device["config_steps_per_s"]
    }


def _brief(result: dict[str, Any]) -> str:
    if "error" in result:
        return f"ERROR {result['error']}"
    return (
        f"{result['config_steps_per_s']:.1f} config-steps/s, "
        f"{result['fraction_of_peak']:.0%} of peak"
    )


def _memory(population: list[dict[str, Any]], estimate) -> dict[str, Any]:
    """Measured peak-RSS slope per config against the estimate of the same thing.

    With a chunk the slope is what every config holds (params, optimizer state, best
    params); the step's activations (and the lazy update's row views) are held by one
    chunk at a time.
    """
    measured = [p for p in population if "error" not in p]
    chunk = measured[0].get("chunk") if measured else None
    estimated = estimate.total if chunk is None else estimate.persistent
    if len(measured) < 2:
        return {"bytes_per_config_estimated": estimated}
    small, large = measured[0], measured[-1]
    per_config = max(large["peak_rss_bytes"] - small["peak_rss_bytes"], 0) / max(
        large["K"] - small["K"], 1
    )
    result = {"bytes_per_config_measured": per_config, "bytes_per_config_estimated": estimated}
    if per_config >= 2**20:  # below a MiB per config, RSS noise swamps the slope
        fits = (MEMORY_LIMIT_BYTES - small["peak_rss_bytes"]) / per_config + small["K"]
        result.update(estimate_over_measured=estimated / per_config, largest_K_in_24GB=int(fits))
    return result


def _ratios(population, sequential, pytorch) -> dict[str, float]:
    ratios = {}
    for point in population:
        if "error" in point:
            continue
        k = point["K"]
        if "error" not in sequential:
            ratios[f"K{k}_vs_one_at_a_time_jax"] = (
                point["config_steps_per_s"] / sequential["config_steps_per_s"]
            )
        if "error" not in pytorch:
            ratios[f"K{k}_vs_pytorch"] = point["config_steps_per_s"] / pytorch["config_steps_per_s"]
    return ratios


def run_benchmark(settings: Settings, out_dir: Path, log=print) -> dict[str, Any]:
    """Measure every case; the JSON and Markdown are rewritten after each case, so a run
    stopped part way (a full run takes over an hour) keeps what it measured, marked
    `"complete": false` in its meta."""
    import jax

    start_peak = gemm_peak_gflops()
    peak = start_peak["peak"]
    log(
        f"float32 GEMM peak: {peak:.1f} GFLOP/s (best of repeats; one device "
        f"{start_peak['one_device']:.1f}, every device at once {start_peak['every_device']:.1f})"
    )
    report = {
        "meta": {
            "date": datetime.date.today().isoformat(),
            "machine": platform.machine(),
            "cpu_count": os.cpu_count(),
            "jax": jax.__version__,
            "dtype": "float32",
            "device": str(jax.devices()[0]),
            "complete": False,
        },
        "settings": dataclasses.asdict(settings),
        "gemm_peak_gflops": peak,
        "gemm_peak_detail": {"start": start_peak},
        "cases": [],
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    for batch, hidden in settings.sizes:
        for arch in settings.architectures:
            report["cases"].append(run_case(settings, arch, batch, hidden, peak, log))
            _write(report, out_dir)
    # Measured again at the end, and every row's fraction taken against the higher of the
    # two: this shared machine's speed drifts during a run of an hour.
    end_peak = gemm_peak_gflops()
    log(f"float32 GEMM peak at the end: {end_peak['peak']:.1f} GFLOP/s")
    report["gemm_peak_detail"]["end"] = end_peak
    report["gemm_peak_gflops"] = max(peak, end_peak["peak"])
    _set_fractions(report["cases"], report["gemm_peak_gflops"])
    report["meta"]["complete"] = True
    _write(report, out_dir)
    return report


def _set_fractions(node: Any, peak: float) -> None:
    """Every measured row's `fraction_of_peak` from its `gflops`, against `peak`."""
    if isinstance(node, dict):
        if "gflops" in node:
            node["fraction_of_peak"] = node["gflops"] / peak
        for value in node.values():
            _set_fractions(value, peak)
    elif isinstance(node, list):
        for value in node:
            _set_fractions(value, peak)


def _write(report: dict[str, Any], out_dir: Path) -> None:
    """Both files replaced atomically: a kill mid-write leaves the previous version."""
    for name, text in (
        ("throughput.json", json.dumps(report, indent=1) + "\n"),
        ("throughput.md", markdown_table(report)),
    ):
        partial = out_dir / f".{name}.partial"
        partial.write_text(text)
        partial.replace(out_dir / name)


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (checks the harness)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--architectures", nargs="*", default=None)
    parser.add_argument("--widths", nargs="*", type=int, default=None)
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else Settings()
    if args.architectures:
        settings = dataclasses.replace(settings, architectures=tuple(args.architectures))
    if args.widths:
        settings = dataclasses.replace(settings, widths=tuple(args.widths))
    run_benchmark(settings, args.out)
    print((args.out / "throughput.md").read_text())
