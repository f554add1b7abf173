"""The accelerator check: one prepared run on a lent GPU (or, with --quick, on a CPU).

Stages, each recorded whatever the others do, into OUT/accelerator.json and .md:

1. environment: jax, its backend and devices, the device's memory, torch and CUDA;
2. tests: the population-equals-solo tests run on the device (float32 matmuls at
   "highest" precision, so the property is checked, not TF32's rounding);
3. the GEMM peak: the best timing of a float32 matmul at the default precision (what a
   population's matmuls use), the reference for "% of peak";
4. throughput: GRU and LSTM at B64 H128 and B16 H64, the population at each K (one vmap
   over all configs: chunk all, the default off a CPU), the same configs one at a time in
   JAX (a jitted single-config step per minibatch: what a per-trial tuner runs), and
   PyTorch one at a time on the same device (cuDNN's nn.GRU / nn.LSTM on a GPU);
5. unroll: the GRU B64 H128 population at K=256 with the recurrent scans unrolled;
6. mixed: the throughput benchmark's mixed-population row (K=64 GRU configs of 4 batch
   sizes and 3 optimizers, bench/mixed.py) merged into one vmapped program against one
   program per (batch size, optimizer).

Each measurement runs in its own process (the throughput benchmark's `measure.py`), in
order of importance, until the time budget is spent; rows left are marked as skipped.
Nothing here estimates a GPU figure: every number is measured in this run.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from jaxtune.bench.harness import (  # noqa: E402
    Settings,
    case_of,
    measurement_args,
    run_measurement,
)

GPU = Settings(
    architectures=("gru", "lstm"),
    sizes=((64, 128), (16, 64)),
    widths=(1, 16, 64, 256, 1024),
    steps=16,
    repeats=3,
    target_seconds=0.5,
    sequential_configs=2,
    timeout=240.0,
)
QUICK = Settings(
    architectures=("gru",),
    sizes=((4, 8),),
    widths=(2,),
    embedding_dim=8,
    seq_len=8,
    vocab_size=100,
    num_classes=3,
    steps=2,
    repeats=2,
    target_seconds=0.02,
    sequential_configs=2,
    timeout=240.0,
)
TESTS = [
    "tests/test_population.py::test_population_matches_solo_per_architecture",
    "tests/test_population.py::test_population_matches_solo_per_optimizer",
    "tests/test_population.py::test_divergent_config_fails_and_its_neighbours_match_solo",
    "tests/test_accelerator_path.py::test_unroll_reaches_every_recurrent_scan_and_changes_nothing",
    "tests/test_accelerator_path.py::test_a_population_of_1024_small_configs_plans_as_one_and_runs",
    "tests/test_merge.py::test_vmapped_merged_population_runs_every_variant_and_keeps_each_configs_own",
]
QUICK_TESTS = ["tests/test_population.py::test_population_matches_solo_per_architecture[gru]"]
UNROLLS = (1, 4, 16)
QUICK_UNROLLS = (1, 4)
PROBE = """
import json, jaxtune, jax
devices = jax.local_devices()
report = {"jax": jax.__version__, "backend": jax.default_backend(),
          "devices": [d.device_kind for d in devices], "memory_stats": devices[0].memory_stats()}
try:
    import torch
    report["torch"] = torch.__version__
    report["torch_cuda"] = torch.cuda.is_available()
    if torch.cuda.is_available():
        report["torch_device"] = torch.cuda.get_device_name(0)
except ImportError as error:
    report["torch"] = f"not importable: {error}"
print(json.dumps(report))
"""


class Clock:
    """The check's time budget: what is left, and whether a stage may start."""

    def __init__(self, seconds: float):
        self.deadline = time.monotonic() + seconds

    def left(self) -> float:
        return self.deadline - time.monotonic()


def python(code_or_args: list[str], timeout: float, env: dict[str, str] | None = None):
    return subprocess.run(
        [sys.executable, *code_or_args],
        capture_output=True,
        text=True,
        timeout=max(timeout, 1.0),
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )


def environment(clock: Clock) -> dict[str, Any]:
    try:
        done = python(["-c", PROBE], timeout=min(120.0, clock.left()))
    except subprocess.TimeoutExpired:
        return {"error": "probe timed out"}
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1:] or ["probe failed"]}
    report = json.loads(done.stdout.strip().splitlines()[-1])
    report["machine"] = platform.machine()
    report["cpu_count"] = os.cpu_count()
    return report


def run_tests(tests: list[str], clock: Clock, out: Path, quick: bool) -> dict[str, Any]:
    """The population-equals-solo tests on this process's default device (quick: with the
    test suite's own CPU settings, tests/conftest.py)."""
    env = {"JAX_DEFAULT_MATMUL_PRECISION": "highest"}
    if not quick:
        env["JAXTUNE_TESTS_ON_DEVICE"] = "1"
    args = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0", *tests]
    start = time.perf_counter()
    try:
        done = python(args, timeout=min(240.0, clock.left() - 60), env=env)
        output, code = done.stdout + done.stderr, done.returncode
    except subprocess.TimeoutExpired as expired:  # what it printed so far
        printed = expired.stdout or ""
        output = printed.decode() if isinstance(printed, bytes) else printed
        code = "timeout"
    (out / "tests.log").write_text(output)
    summary = [line for line in output.splitlines() if " passed" in line or " failed" in line]
    return {
        "tests": tests,
        "exit_code": code,
        "summary": summary[-1] if summary else output.strip().splitlines()[-1:],
        "seconds": time.perf_counter() - start,
        "precision": "highest",
    }


def gemm_peak(quick: bool, clock: Clock) -> dict[str, Any]:
    size = 512 if quick else 8192
    code = (
        "import json, jaxtune; from jaxtune.bench.harness import gemm_peak_gflops; "
        f"print(json.dumps(gemm_peak_gflops(size={size})))"
    )
    try:
        done = python(["-c", code], timeout=min(120.0, clock.left()))
    except subprocess.TimeoutExpired:
        return {"error": "timed out"}
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1:]}
    return {"size": size, **json.loads(done.stdout.strip().splitlines()[-1])}


def rows_in_order(settings: Settings, torch_device: str) -> list[tuple[str, str, dict, str]]:
    """(case name, row name, payload, mode) of every measurement, most important first."""
    rows = []
    for batch, hidden in settings.sizes:
        for architecture in settings.architectures:
            case, _, _ = case_of(settings, architecture, batch, hidden)
            case = {**case, "chunk": "all", "torch_device": torch_device}  # all: auto off a CPU
            common = measurement_args(settings, case)
            name = f"{architecture}_b{batch}_h{hidden}"
            one_at_a_time = {**common, "configs": settings.sequential_configs}
            rows.append((name, "one_at_a_time_jax", one_at_a_time, "sequential"))
            rows.append((name, "pytorch", one_at_a_time, "torch"))
            for width in settings.widths:
                rows.append((name, f"population_K{width}", {**common, "K": width}, "population"))
    return rows


def measure(
    settings: Settings, torch_device: str | None, clock: Clock, log
) -> dict[str, dict[str, Any]]:
    """Every row of `rows_in_order`; torch_device None: torch is not importable here."""
    cases: dict[str, dict[str, Any]] = {}
    for name, row, payload, mode in rows_in_order(settings, torch_device or "cpu"):
        architecture, batch, hidden = name.split("_")
        _, _, flops = case_of(settings, architecture, int(batch[1:]), int(hidden[1:]))
        entry = cases.setdefault(name, {"case": payload["case"], "flops_per_config_step": flops})
        if mode == "torch" and torch_device is None:
            entry[row] = {"skipped": "torch is not importable here"}
            continue
        if clock.left() < 20:
            entry[row] = {"skipped": "the check's time budget was spent"}
            continue
        timeout = min(settings.timeout, clock.left() - 10)
        result, wall = run_measurement(mode, payload, timeout)
        entry[row] = {**result, "wall_s": wall}
        rate = result.get("config_steps_per_s")
        log(f"{name} {row}: " + (f"{rate:.1f} config-steps/s" if rate else str(result)[:300]))
    return cases


def measure_unroll(settings: Settings, quick: bool, clock: Clock, log) -> dict[str, Any]:
    """The first size's GRU population at each of UNROLLS (K=256; quick: the largest K)."""
    batch, hidden = settings.sizes[0]
    width = settings.widths[-1] if quick else 256
    case, _, _ = case_of(settings, "gru", batch, hidden)
    rows = {}
    for unroll in QUICK_UNROLLS if quick else UNROLLS:
        if clock.left() < 20:
            rows[str(unroll)] = {"skipped": "the check's time budget was spent"}
            continue
        payload = {**measurement_args(settings, {**case, "unroll": unroll}), "K": width}
        result, wall = run_measurement(
            "population", payload, min(settings.timeout, clock.left() - 10)
        )
        rows[str(unroll)] = {**result, "wall_s": wall}
        log(f"unroll {unroll}: {result.get('config_steps_per_s', result)}")
    return {"case": case, "K": width, "rows": rows}


def measure_mixed(settings: Settings, quick: bool, clock: Clock, log) -> dict[str, Any]:
    """The mixed-population row (bench/mixed.py), one vmap: merged against separate."""
    batch, hidden = settings.sizes[-1]
    width = settings.widths[-1] if quick else 64
    case, _, _ = case_of(settings, "gru", batch, hidden)
    common = measurement_args(settings, {**case, "chunk": "all"})
    rows = {}
    for label, merged in (("merged", True), ("separate", False)):
        if clock.left() < 20:
            rows[label] = {"skipped": "the check's time budget was spent"}
            continue
        payload = {**common, "K": width, "steps": max(settings.steps, 8), "merged": merged}
        result, wall = run_measurement("mixed", payload, min(settings.timeout, clock.left() - 10))
        rows[label] = {**result, "wall_s": wall}
        log(f"mixed {label}: {result.get('examples_per_s', result)}")
    return {"case": case, "K": width, "rows": rows}


def ratios(cases: dict[str, dict[str, Any]], peak: float | None) -> None:
    """Each population row's ratio to one at a time (JAX, PyTorch) and fraction of peak."""
    for entry in cases.values():
        solo = entry.get("one_at_a_time_jax", {}).get("config_steps_per_s")
        torch = entry.get("pytorch", {}).get("config_steps_per_s")
        for row, result in entry.items():
            rate = result.get("config_steps_per_s") if isinstance(result, dict) else None
            if not row.startswith("population_") or rate is None:
                continue
            if solo:
                result["vs_one_at_a_time_jax"] = rate / solo
            if torch:
                result["vs_pytorch"] = rate / torch
            result["gflops"] = rate * entry["flops_per_config_step"] / 1e9
            if peak:
                result["fraction_of_peak"] = result["gflops"] / peak


def markdown(report: dict[str, Any]) -> str:
    env = report["environment"]
    peak = report["gemm_peak"].get("peak")
    lines = [
        f"Accelerator check of {report['date']}: {', '.join(env.get('devices', ['?']))} "
        f"({env.get('backend', '?')}, jax {env.get('jax', '?')}; torch {env.get('torch', '-')}).",
        "",
        f"Tests ({report['tests'].get('precision')} matmul precision): "
        f"{report['tests'].get('summary')} (exit {report['tests'].get('exit_code')}).",
        "",
        f"GEMM peak: {peak:.0f} GFLOP/s (float32, default precision, best timing)"
        if peak
        else f"GEMM peak: {report['gemm_peak']}",
        "",
        "| case | K | config-steps/s | x one at a time (JAX) | x PyTorch | GFLOP/s | % of peak "
        "| compile s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, entry in report["cases"].items():
        for label in ("one_at_a_time_jax", "pytorch"):
            result = entry.get(label, {})
            rate = result.get("config_steps_per_s")
            text = f"{rate:.1f}" if rate else result.get("error") or result.get("skipped", "-")
            lines.append(f"| {name} | {label} | {text} | | | | | |")
        for row, result in entry.items():
            if not row.startswith("population_"):
                continue
            rate = result.get("config_steps_per_s")
            if rate is None:
                problem = result.get("error") or result.get("skipped", "-")
                lines.append(f"| {name} | {row[12:]} | {str(problem)[:120]} | | | | | |")
                continue
            cells = [
                f"{result['vs_one_at_a_time_jax']:.2f}x"
                if "vs_one_at_a_time_jax" in result
                else "-",
                f"{result['vs_pytorch']:.2f}x" if "vs_pytorch" in result else "-",
                f"{result['gflops']:.0f}",
                f"{result['fraction_of_peak']:.1%}" if "fraction_of_peak" in result else "-",
                f"{result['compile_s']:.1f}",
            ]
            lines.append(f"| {name} | {result['K']} | {rate:.1f} | " + " | ".join(cells) + " |")
    unroll = report.get("unroll", {})
    if unroll.get("rows"):
        lines += ["", f"Unroll, GRU population K={unroll['K']} (config-steps/s, compile s):", ""]
        lines += _listed(unroll["rows"], "unroll ", "config_steps_per_s", "{:.1f}")
    mixed = report.get("mixed", {})
    if mixed.get("rows"):
        lines += ["", f"Mixed GRU population K={mixed['K']}, one vmap (examples/s, compile s):", ""]
        lines += _listed(mixed["rows"], "", "examples_per_s", "{:.0f}")
    return "\n".join(lines) + "\n"


def _listed(rows: dict[str, dict[str, Any]], prefix: str, key: str, number: str) -> list[str]:
    """One line per row: its rate and compile seconds (and programs), or why it has none."""
    lines = []
    for label, result in rows.items():
        rate = result.get(key)
        if rate:
            programs = f", {result['programs']} program(s)" if "programs" in result else ""
            text = f"{number.format(rate)}, {result['compile_s']:.1f} s{programs}"
        else:
            text = str(result.get("error") or result.get("skipped"))[:120]
        lines.append(f"- {prefix}{label}: {text}")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the logic on CPU")
    parser.add_argument("--seconds", type=float, default=440.0, help="the check's time budget")
    args = parser.parse_args(argv)
    clock = Clock(args.seconds)
    args.out.mkdir(parents=True, exist_ok=True)
    log_file = (args.out / "check.log").open("w")

    def log(line: str) -> None:
        print(line, flush=True)
        log_file.write(line + "\n")
        log_file.flush()

    settings = QUICK if args.quick else GPU
    report: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"),
        "quick": args.quick,
        "settings": dataclasses.asdict(settings),
    }

    def write() -> None:
        (args.out / "accelerator.json").write_text(json.dumps(report, indent=1) + "\n")
        (args.out / "accelerator.md").write_text(markdown(report))

    report["environment"] = environment(clock)
    log(f"environment: {report['environment']}")
    report["tests"] = {}
    report["gemm_peak"] = {}
    report["cases"] = {}
    if "error" in report["environment"]:  # jax or jaxtune does not start: nothing else can
        write()
        raise SystemExit(f"accelerator check: {report['environment']['error']}")
    report["tests"] = run_tests(QUICK_TESTS if args.quick else TESTS, clock, args.out, args.quick)
    log(f"tests: {report['tests']['summary']}")
    write()
    report["gemm_peak"] = gemm_peak(args.quick, clock)
    log(f"GEMM peak: {report['gemm_peak']}")
    torch = report["environment"].get("torch_cuda")  # None: torch is not importable
    torch_device = None if torch is None else "cuda" if torch else "cpu"
    report["cases"] = measure(settings, torch_device, clock, log)
    ratios(report["cases"], report["gemm_peak"].get("peak"))
    write()
    report["unroll"] = measure_unroll(settings, args.quick, clock, log)
    write()
    report["mixed"] = measure_mixed(settings, args.quick, clock, log)
    write()
    print(markdown(report))


if __name__ == "__main__":
    main()
