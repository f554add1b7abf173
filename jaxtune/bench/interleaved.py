"""One throughput case's headline rows, interleaved over rounds.

The population at one K, one config at a time (JAX) and PyTorch are measured in turn, each
in its own process as in the throughput benchmark, for several rounds, with the GEMM peak
before and after each round. The throughput run measures each row once, minutes apart; on
this shared machine the speed drifts more than that (the GEMM peak moved from 269 to 446
GFLOP/s within two hours of 2026-12-04, and one round's population ran at half the next
round's rate), so a ratio of two rows can be off by the drift. Each round's ratio is taken
between rows measured a minute apart, and the median over rounds is reported.

With `one_core`, each round also measures the population and one config at a time pinned to
one core (one device), which splits the ratio to one-at-a-time JAX into what the
population's program gains on a core and what a second core adds to each:
x JAX solo = (on one core: population / one at a time) x (population's two-core gain)
/ (one at a time's two-core gain).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from jaxtune.bench.harness import (
    QUICK,
    Settings,
    case_of,
    gemm_peak_gflops,
    measurement_args,
    run_measurement,
    torch_available,
)


def run_interleaved(
    settings: Settings,
    architecture: str,
    batch: int,
    hidden: int,
    width: int,
    rounds: int,
    log=print,
    one_core: bool = False,
) -> dict[str, Any]:
    case, _, flops = case_of(settings, architecture, batch, hidden)
    common = measurement_args(settings, case)
    population = {**common, "K": width}
    one_at_a_time = {**common, "configs": settings.sequential_configs}
    payloads = {
        "population": ("population", population),
        "one_at_a_time_jax": ("sequential", one_at_a_time),
    }
    missing = torch_available()  # without torch the PyTorch row says why it is absent
    if not missing:
        payloads["pytorch"] = ("torch", one_at_a_time)
    if one_core:
        core = [min(os.sched_getaffinity(0))]  # measure.py pins its process to it
        payloads["population_one_core"] = ("population", {**population, "cpus": core})
        payloads["one_at_a_time_jax_one_core"] = ("sequential", {**one_at_a_time, "cpus": core})
    measured = []
    for index in range(rounds):
        entry = {"round": index, "gemm_peak_before": gemm_peak_gflops(), "processes": {}}
        for row, (mode, payload) in payloads.items():
            result, _ = run_measurement(mode, payload, settings.timeout)
            if "error" in result:
                raise SystemExit(f"interleaved: round {index} {row}: {result['error']}")
            entry[row] = result["config_steps_per_s"]
            entry["processes"][row] = result["process"]  # the cores and devices it had
        entry["gemm_peak_after"] = gemm_peak_gflops()
        entry["vs_one_at_a_time_jax"] = entry["population"] / entry["one_at_a_time_jax"]
        if "pytorch" in entry:
            entry["vs_pytorch"] = entry["population"] / entry["pytorch"]
        if one_core:
            entry.update(_core_split(entry))
        pytorch = f"{entry['pytorch']:.1f}" if "pytorch" in entry else missing
        pinned = (
            f"; on one core {entry['population_one_core']:.1f} and "
            f"{entry['one_at_a_time_jax_one_core']:.1f}"
            if one_core
            else ""
        )
        log(
            f"round {index}: population K={width} {entry['population']:.1f}, one at a time "
            f"{entry['one_at_a_time_jax']:.1f}, PyTorch {pytorch} config-steps/s{pinned}"
        )
        measured.append(entry)
    peak = max(
        entry[when]["peak"]
        for entry in measured
        for when in ("gemm_peak_before", "gemm_peak_after")
    )
    keys = [*payloads, "vs_one_at_a_time_jax"] + ([] if missing else ["vs_pytorch"])
    keys += list(_core_split(measured[0])) if one_core else []
    median = {key: float(np.median([entry[key] for entry in measured])) for key in keys}
    median["population_fraction_of_peak"] = median["population"] * flops / 1e9 / peak
    return {
        "case": case,
        "K": width,
        "flops_per_config_step": flops,
        "settings": dataclasses.asdict(settings),
        "pytorch_error": missing,
        "rounds": measured,
        "gemm_peak_gflops": peak,  # the best over every round's timings
        "median": median,
    }


def _core_split(entry: dict[str, float]) -> dict[str, float]:
    """The ratio to one-at-a-time JAX split into its factors (module docstring)."""
    return {
        "one_core_vs_one_at_a_time_jax": entry["population_one_core"]
        / entry["one_at_a_time_jax_one_core"],
        "population_two_core_gain": entry["population"] / entry["population_one_core"],
        "one_at_a_time_two_core_gain": entry["one_at_a_time_jax"]
        / entry["one_at_a_time_jax_one_core"],
    }


def markdown(report: dict[str, Any]) -> str:
    case = report["case"]
    lines = [
        f"{case['architecture']} B={case['batch_size']} H={case['hidden_size']}, population "
        f"K={report['K']}, interleaved: config-steps/s per round, the GEMM peak (GFLOP/s, best "
        "of its timings) before / after each round.",
        "",
        "| round | population | one at a time (JAX) | PyTorch | x PyTorch | x JAX solo "
        "| GEMM peak |",
        "|---|---|---|---|---|---|---|",
    ]

    def row(label, values, peak):
        rates = [
            f"{values[key]:.1f}" if key in values else "-"
            for key in ("population", "one_at_a_time_jax", "pytorch")
        ]
        ratios = [
            f"{values[key]:.2f}x" if key in values else "-"
            for key in ("vs_pytorch", "vs_one_at_a_time_jax")
        ]
        return f"| {label} | {' | '.join(rates)} | {' | '.join(ratios)} | {peak} |"

    for entry in report["rounds"]:
        peaks = f"{entry['gemm_peak_before']['peak']:.0f} / {entry['gemm_peak_after']['peak']:.0f}"
        lines.append(row(entry["round"], entry, peaks))
    median = report["median"]
    lines.append(row("median", median, f"{report['gemm_peak_gflops']:.0f} (best)"))
    lines += [
        "",
        f"The population's median rate is {median['population_fraction_of_peak']:.0%} of the "
        "best GEMM peak timed in the run.",
    ]
    if "population_one_core" in median:
        lines += [
            "",
            "Pinned to one core (one device): config-steps/s, and the ratio to one-at-a-time "
            "JAX as (on one core: population / one at a time) x (population's two-core gain) "
            "/ (one at a time's two-core gain).",
            "",
            "| round | population, one core | one at a time, one core | population / one at a "
            "time, one core | population's two-core gain | one at a time's two-core gain |",
            "|---|---|---|---|---|---|",
        ]
        for label, values in [*((e["round"], e) for e in report["rounds"]), ("median", median)]:
            lines.append(
                f"| {label} | {values['population_one_core']:.1f} | "
                f"{values['one_at_a_time_jax_one_core']:.1f} | "
                f"{values['one_core_vs_one_at_a_time_jax']:.2f}x | "
                f"{values['population_two_core_gain']:.2f}x | "
                f"{values['one_at_a_time_two_core_gain']:.2f}x |"
            )
    return "\n".join(lines) + "\n"


def case_parser(description: str, width: int, out: Path) -> argparse.ArgumentParser:
    """The arguments of a script that measures one case over rounds: architecture, batch,
    hidden, --K, --rounds, --quick, --out (`parse_case_args` checks them)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("architecture", choices=("rnn", "gru", "lstm", "cnn"))
    parser.add_argument("batch", type=int)
    parser.add_argument("hidden", type=int)
    parser.add_argument("--K", type=int, default=width)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (checks the harness)")
    parser.add_argument("--out", type=Path, default=out)
    return parser


def parse_case_args(parser: argparse.ArgumentParser, argv: list[str] | None):
    """Parsed arguments; a size or count below 1 is a usage error (exit 2) naming it."""
    args = parser.parse_args(argv)
    for name in ("batch", "hidden", "K", "rounds"):
        if getattr(args, name) < 1:
            parser.error(f"{name} must be at least 1, got {getattr(args, name)}")
    return args


def main(argv: list[str] | None = None) -> None:
    parser = case_parser(
        __doc__.splitlines()[0], width=64, out=Path("benchmarks/results/interleaved")
    )
    parser.add_argument(
        "--one-core",
        action="store_true",
        help="also measure the population and one config at a time pinned to one core",
    )
    args = parse_case_args(parser, argv)
    settings = QUICK if args.quick else Settings()
    report = run_interleaved(
        settings,
        args.architecture,
        args.batch,
        args.hidden,
        args.K,
        args.rounds,
        one_core=args.one_core,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    name = f"{args.architecture}_b{args.batch}_h{args.hidden}_k{args.K}"
    (args.out / f"{name}.json").write_text(json.dumps(report, indent=1) + "\n")
    text = markdown(report)
    (args.out / f"{name}.md").write_text(text)
    print(text)
