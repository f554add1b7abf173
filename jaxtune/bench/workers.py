"""Scale out: the 32-config sweep of benchmarks/workers.yaml trained by one `jaxtune
worker` and by two, sharing one study in a throw-away PostgreSQL server (postgres.py).
Each worker is pinned to a core of its own with `taskset` (so one JAX device each) and
is a fresh process with no compile cache: each pays its own compiling, as workers on
separate machines do.

`python benchmarks/workers.py [--quick]` writes benchmarks/results/workers/workers_32.json
and .md: the wall time of each run (from the first worker's start to the last one's
end), the ratio, and each worker's share of the trials.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import yaml

from jaxtune.bench.harness import publish
from jaxtune.bench.head_to_head import machine
from jaxtune.bench.postgres import server

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "benchmarks" / "workers.yaml"
RESULTS = ROOT / "benchmarks" / "results" / "workers"
QUICK = {"train_size": 200, "val_size": 64, "test_size": 32, "max_length": 10}


def run_workers(spec: Path, url: str, cores: list[int], work: Path, batch: int) -> dict[str, Any]:
    """`len(cores)` workers of one new study, worker i pinned to cores[i]."""
    study = f"bench-{uuid.uuid4().hex[:8]}"
    jaxtune = str(Path(sys.executable).parent / "jaxtune")
    processes, logs = [], []
    started = time.perf_counter()
    for i, core in enumerate(cores):
        out = work / f"worker{i}"
        command = ["taskset", "-c", str(core), jaxtune, "worker", str(spec), "--storage", url]
        command += ["--study", study, "--out", str(out), "--batch", str(batch)]
        command += ["--compile-cache", "off", "--wandb", "disabled"]
        log = open(work / f"worker{i}.log", "w", encoding="utf-8")  # noqa: SIM115
        logs.append(log)
        env = {k: v for k, v in os.environ.items() if k != "JAX_NUM_CPU_DEVICES"}
        processes.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env))
    for process in processes:
        process.wait()
    wall = time.perf_counter() - started
    for log in logs:
        log.close()
    if any(p.returncode for p in processes):
        raise RuntimeError(f"a worker failed; see {work}/worker*.log")
    shares = [
        len((work / f"worker{i}" / "results.jsonl").read_text().splitlines())
        for i in range(len(cores))
    ]
    return {"wall_seconds": wall, "trials_per_worker": shares, "study": study}


def run(quick: bool, work: Path, batch: int) -> dict[str, Any]:
    document = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    if quick:  # the harness end to end in seconds, not a measurement
        document["data"] = QUICK
        document["train"]["epochs"] = 1
    work.mkdir(parents=True, exist_ok=True)
    spec = work / "workers.yaml"
    spec.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    folder = Path(tempfile.mkdtemp(prefix="jaxtune-postgres-"))
    folder.chmod(0o755)  # the server's own user reaches its folder inside
    runs = {}
    with server(folder / "server") as url:
        for name, cores in (("one worker", [0]), ("two workers", [0, 1])):
            folder = work / name.replace(" ", "_")
            shutil.rmtree(folder, ignore_errors=True)  # an earlier run's worker directories
            folder.mkdir()
            runs[name] = run_workers(spec, url, cores, folder, batch)
    one, two = runs["one worker"]["wall_seconds"], runs["two workers"]["wall_seconds"]
    return {
        "quick": quick,
        "machine": machine(),
        "configs": 32,
        "batch": batch,
        "runs": runs,
        "speedup": one / two,
    }


def markdown(result: dict[str, Any]) -> str:
    lines = [
        "# Scale out: one worker against two (benchmarks/workers.yaml)",
        "",
        f"{result['configs']} configs, each worker claiming {result['batch']} at a time, on "
        f"{result['machine']}" + (" (quick: not a measurement)" if result["quick"] else "") + ".",
        "",
        "| run | wall seconds | trials per worker |",
        "|---|---:|---|",
    ]
    for name, entry in result["runs"].items():
        shares = ", ".join(str(n) for n in entry["trials_per_worker"])
        lines.append(f"| {name} | {entry['wall_seconds']:.0f} | {shares} |")
    lines += ["", f"Two workers on two cores: {result['speedup']:.2f}x one worker on one core."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a slice, seconds, no measurement")
    parser.add_argument("--out", default=str(RESULTS), help="where the JSON and Markdown go")
    parser.add_argument("--work", default="runs/bench_workers", help="the workers' folders")
    parser.add_argument("--batch", type=int, default=8, help="trials a worker claims at a time")
    args = parser.parse_args(argv)
    result = run(args.quick, Path(args.work).resolve(), args.batch)
    publish(args.out, "workers_32", result, markdown(result))
