"""Schedulers benchmark: one random sweep trained fully, and the same configs with Optuna's
successive halving (`scheduler: {type: asha}`) and slot refill; or (`--pbt`) 16 configs
trained with fixed hyperparameters, and the same 16 under population-based training.

Both sweeps draw the same configs (method random, one seed) from the head-to-head's space
(bench/head_to_head.py) on the same data, with the same slots per population
(`budget.max_population`, so the pruned sweep's populations stream their queued configs
through the slots of the configs that end), and no early stopping: the full sweep trains
every config for all its epochs. Each runs as a fresh `jaxtune sweep` process.

Reported: each sweep's best validation accuracy, config-epochs spent (sweep.json), wall
seconds, and the configs pruned and refilled; the issue's bar: the pruned sweep's best
within 0.5 points of the full sweep's while spending at most 40% of its config-epochs.
With --pbt: one GRU program (every config in one population), learning rate and dropout
drawn, then perturbed every 2 epochs; the bar: PBT's best at least the best fixed
config's, at equal config-epochs.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
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
PBT_SPACE = {
    "learning_rate": {"min": 1e-4, "max": 1e-2, "log": True},
    "dropout": {"min": 0.0, "max": 0.6},
}
PBT_FIXED = {
    "architecture": "gru",
    "hidden_size": 128,
    "batch_size": 64,
    "optimizer": "adam",
    "embedding_dim": 64,
}
PBT = {
    "type": "pbt",
    "perturbation_interval": 2,
    "quantile_fraction": 0.25,
    "hyperparam_mutations": space_parameters(PBT_SPACE),
}
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
        "name": scheduler["type"] if scheduler else "full",
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
    return {"wall_seconds": wall, **summary_of(out)}


def summary_of(out: Path) -> dict[str, Any]:
    """What a finished sweep directory spent and found."""
    summary = json.loads((out / "sweep.json").read_text())
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    values = [r["best"]["val_accuracy"] for r in records if r.get("best")]
    return {
        "best_val_accuracy": max(values),
        # the typical config's best: where PBT's perturbed configs show what they gained
        "median_best_val_accuracy": float(np.median(values)),
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


def pbt_settings(settings: Settings) -> Settings:
    """The PBT comparison: 16 configs of one program, learning rate and dropout drawn."""
    configs = 16 if settings.configs == Settings.configs else settings.configs
    return dataclasses.replace(
        settings,
        configs=configs,
        slots=configs,
        space=dict(PBT_SPACE),
        fixed={**settings.fixed, **PBT_FIXED} if settings.fixed == FIXED else dict(settings.fixed),
    )


def compare_pbt(fixed: dict[str, Any], pbt: dict[str, Any]) -> dict[str, Any]:
    """PBT against the same configs trained with fixed hyperparameters."""
    return {
        "gain_points": 100.0 * (pbt["best_val_accuracy"] - fixed["best_val_accuracy"]),
        "at_least_best_fixed": pbt["best_val_accuracy"] >= fixed["best_val_accuracy"],
        "equal_config_epochs": pbt["config_epochs"] == fixed["config_epochs"],
        "wall_ratio": pbt["wall_seconds"] / fixed["wall_seconds"],
    }


def markdown(settings: Settings, runs: dict[str, dict], verdict: dict, meta: dict) -> str:
    where = f"{meta['machine']}, {meta['date']}."
    if "gain_points" in verdict:  # PBT against the same configs fixed
        title = f"# PBT vs. the same configs with fixed hyperparameters ({settings.data})"
        intro = (
            f"{settings.configs} random configs (seed {settings.seed}) of {settings.space}, "
            f"{settings.fixed}, {settings.epochs} epochs, no early stopping; "
            f"`scheduler: {PBT}`. {where}"
        )
        outcome = (
            f"PBT's best is {verdict['gain_points']:+.2f} points from the best fixed config's "
            f"(bar: at least as high: {'met' if verdict['at_least_best_fixed'] else 'missed'}), "
            f"at {'equal' if verdict['equal_config_epochs'] else 'unequal'} config-epochs and "
            f"{verdict['wall_ratio']:.2f}x its wall time."
        )
    else:
        title = f"# ASHA with slot refill vs. every config trained fully ({settings.data})"
        intro = (
            f"{settings.configs} random configs (seed {settings.seed}) of the head-to-head's "
            f"space, {settings.epochs} epochs, no early stopping, {settings.slots} slots per "
            f"population; `scheduler: {ASHA}`. {where}"
        )
        outcome = (
            f"ASHA's best is {verdict['gap_points']:+.2f} points below the full sweep's "
            f"(bar: at most {GAP_POINTS}: {'met' if verdict['within_gap'] else 'missed'}), with "
            f"{100 * verdict['config_epoch_share']:.0f}% of its config-epochs (bar: at most "
            f"{100 * EPOCH_SHARE:.0f}%: {'met' if verdict['within_share'] else 'missed'}) and "
            f"{verdict['wall_ratio']:.2f}x its wall time."
        )
    lines = [
        title,
        "",
        intro,
        "",
        "| sweep | best val acc | median config's best | config-epochs | of planned | wall s "
        "| populations | pruned | refilled |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, run in runs.items():
        median = run.get("median_best_val_accuracy")
        lines.append(
            f"| {name} | {run['best_val_accuracy']:.4f} | "
            f"{'-' if median is None else f'{median:.4f}'} | {run['config_epochs']} | "
            f"{run['config_epochs_planned']} | {run['wall_seconds']:.0f} | "
            f"{run['populations']} | {run['pruned']} | {run['refilled']} |"
        )
    return "\n".join([*lines, "", outcome]) + "\n"


def run_benchmark(settings: Settings, out: Path, work: Path, pbt: bool = False) -> dict[str, Any]:
    scheduler = PBT if pbt else ASHA
    name = scheduler["type"]
    runs = {
        "full": run_sweep(settings, sweep_spec(settings, None), work),
        name: run_sweep(settings, sweep_spec(settings, scheduler), work),
    }
    if runs["full"]["trial_ids"] != runs[name]["trial_ids"]:
        raise RuntimeError("the two sweeps trained different configs")
    verdict = (compare_pbt if pbt else compare)(runs["full"], runs[name])
    meta = {"machine": machine(), "date": time.strftime("%Y-%m-%d")}
    document = {"settings": dataclasses.asdict(settings), "runs": runs, "verdict": verdict, **meta}
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"{name}_{settings.data}"
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
    parser.add_argument("--pbt", action="store_true", help="16 fixed configs against PBT")
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
    if args.pbt:
        settings = pbt_settings(settings)
    run_benchmark(settings, args.out, args.work, pbt=args.pbt)
