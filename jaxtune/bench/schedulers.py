"""Schedulers benchmark: one random sweep trained fully, and the same configs with Optuna's
successive halving (`scheduler: {type: asha}`) and slot refill.

Both sweeps draw the same configs (method random, one seed) from the head-to-head's space
(bench/head_to_head.py) on the same data, with the same slots per population
(`budget.max_population`, so the pruned sweep's populations stream their queued configs
through the slots of the configs that end), and no early stopping: the full sweep trains
every config for all its epochs. Each runs as a fresh `jaxtune sweep` process.

Reported: each sweep's best validation accuracy, config-epochs spent (sweep.json), wall
seconds, and the configs pruned and refilled; the issue's bar: the pruned sweep's best
within 0.5 points of the full sweep's while spending at most 40% of its config-epochs.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from jaxtune.bench.head_to_head import (
    FIXED,
    QUICK_FIXED,
    QUICK_SPACE,
    SPACE,
    machine,
    space_parameters,
)

ASHA = {"type": "asha", "min_resource": 1, "reduction_factor": 3}
GAP_POINTS = 0.5  # the pruned sweep's best may be this many points below the full one's
EPOCH_SHARE = 0.40  # of the full sweep's config-epochs, at most


@dataclasses.dataclass(frozen=True)
class Settings:
    data: str = "emotion"
    data_dir: str | None = None
    configs: int = 64
    epochs: int = 9  # rungs at 1, 3 and 9 with reduction factor 3
    slots: int = 16  # budget.max_population of both sweeps
    seed: int = 0
    space: dict = dataclasses.field(default_factory=lambda: dict(SPACE))
    fixed: dict = dataclasses.field(default_factory=lambda: dict(FIXED))
    data_options: dict = dataclasses.field(default_factory=dict)


def quick_settings(data_dir: str | None) -> Settings:
    """A slice and a tiny space: the benchmark end to end in seconds, not a measurement."""
    return Settings(
        data_dir=data_dir,
        configs=6,
        epochs=3,
        slots=2,
        space=dict(QUICK_SPACE),
        fixed=dict(QUICK_FIXED),
        data_options={"max_length": 24},
    )


def sweep_spec(settings: Settings, scheduler: dict | None) -> dict[str, Any]:
    """The spec of one of the two sweeps (the same configs; a scheduler or none)."""
    spec = {
        "name": "asha" if scheduler else "full",
        "seed": settings.seed,
        "method": "random",
        "run_cap": settings.configs,
        "metric": {"name": "val_accuracy", "goal": "maximize"},
        "data": {"name": settings.data, **settings.data_options},
        "model": dict(settings.fixed),
        "train": {"epochs": settings.epochs},
        "budget": {"max_population": settings.slots},
        "parameters": space_parameters(settings.space),
    }
    if scheduler:
        spec["scheduler"] = dict(scheduler)
    return spec


def run_sweep(settings: Settings, spec: dict[str, Any], work: Path) -> dict[str, Any]:
    """`jaxtune sweep` of the spec in a fresh process; what it spent and found."""
    work.mkdir(parents=True, exist_ok=True)
    path = work / f"{spec['name']}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    out = work / spec["name"]
    jaxtune = str(Path(sys.executable).parent / "jaxtune")
    command = [jaxtune, "sweep", str(path), "--out", str(out), "--overwrite"]
    if settings.data_dir:
        command += ["--data-dir", settings.data_dir]
    started = time.perf_counter()
    with open(work / f"{spec['name']}.log", "w") as log:
        subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, check=True)
    wall = time.perf_counter() - started
    summary = json.loads((out / "sweep.json").read_text())
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    values = [r["best"]["val_accuracy"] for r in records if r.get("best")]
    return {
        "wall_seconds": wall,
        "best_val_accuracy": max(values),
        "configs": len(records),
        "config_epochs": summary["config_epochs"],
        "config_epochs_planned": summary["config_epochs_planned"],
        "populations": summary["populations"],
        "pruned": sum(r["status"] == "pruned" for r in records),
        "refilled": sum(r.get("data_epoch", 0) > 0 for r in records),
        "trial_ids": sorted(r["trial_id"] for r in records),
    }


def compare(full: dict[str, Any], asha: dict[str, Any]) -> dict[str, Any]:
    """The pruned sweep against the full one, and the issue's bar."""
    gap = 100.0 * (full["best_val_accuracy"] - asha["best_val_accuracy"])
    share = asha["config_epochs"] / full["config_epochs"]
    return {
        "gap_points": gap,
        "config_epoch_share": share,
        "wall_ratio": asha["wall_seconds"] / full["wall_seconds"],
        "within_gap": gap <= GAP_POINTS,
        "within_share": share <= EPOCH_SHARE,
    }


def markdown(settings: Settings, runs: dict[str, dict], verdict: dict, meta: dict) -> str:
    lines = [
        f"# ASHA with slot refill vs. every config trained fully ({settings.data})",
        "",
        f"{settings.configs} random configs (seed {settings.seed}) of the head-to-head's space, "
        f"{settings.epochs} epochs, no early stopping, {settings.slots} slots per population; "
        f"`scheduler: {ASHA}`. {meta['machine']}, {meta['date']}.",
        "",
        "| sweep | best val acc | config-epochs | of planned | wall s | populations "
        "| pruned | refilled |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, run in runs.items():
        lines.append(
            f"| {name} | {run['best_val_accuracy']:.4f} | {run['config_epochs']} | "
            f"{run['config_epochs_planned']} | {run['wall_seconds']:.0f} | "
            f"{run['populations']} | {run['pruned']} | {run['refilled']} |"
        )
    lines += [
        "",
        f"ASHA's best is {verdict['gap_points']:+.2f} points below the full sweep's "
        f"(bar: at most {GAP_POINTS}: {'met' if verdict['within_gap'] else 'missed'}), "
        f"with {100 * verdict['config_epoch_share']:.0f}% of its config-epochs (bar: at most "
        f"{100 * EPOCH_SHARE:.0f}%: {'met' if verdict['within_share'] else 'missed'}) and "
        f"{verdict['wall_ratio']:.2f}x its wall time.",
    ]
    return "\n".join(lines) + "\n"


def run_benchmark(settings: Settings, out: Path, work: Path) -> dict[str, Any]:
    runs = {
        "full": run_sweep(settings, sweep_spec(settings, None), work),
        "asha": run_sweep(settings, sweep_spec(settings, ASHA), work),
    }
    if runs["full"]["trial_ids"] != runs["asha"]["trial_ids"]:
        raise RuntimeError("the two sweeps trained different configs")
    verdict = compare(runs["full"], runs["asha"])
    meta = {"machine": machine(), "date": time.strftime("%Y-%m-%d")}
    document = {"settings": dataclasses.asdict(settings), "runs": runs, "verdict": verdict, **meta}
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"asha_{settings.data}"
    stem.with_suffix(".json").write_text(json.dumps(document, indent=2) + "\n")
    stem.with_suffix(".md").write_text(markdown(settings, runs, verdict, meta))
    print(stem.with_suffix(".md").read_text())
    return document


def main(argv: list[str] | None = None) -> None:
    import argparse
    import os

    root = Path(__file__).resolve().parents[2]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="emotion")
    parser.add_argument("--data-dir", default="../shared/data")
    parser.add_argument("--configs", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=9)
    parser.add_argument("--slots", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="seconds, on a slice")
    parser.add_argument("--out", type=Path, default=root / "benchmarks" / "results" / "schedulers")
    parser.add_argument("--work", type=Path, default=root / "runs" / "schedulers")
    args = parser.parse_args(argv)
    args.out, args.work = args.out.resolve(), args.work.resolve()
    if args.data_dir != parser.get_default("data_dir"):
        args.data_dir = str(Path(args.data_dir).resolve())
    os.chdir(root)
    if args.quick:
        settings = dataclasses.replace(quick_settings(args.data_dir), data=args.data)
    else:
        settings = Settings(
            data=args.data,
            data_dir=args.data_dir,
            configs=args.configs,
            epochs=args.epochs,
            slots=args.slots,
            seed=args.seed,
        )
    run_benchmark(settings, args.out, args.work)
