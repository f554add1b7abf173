"""Your own model in the population (experiments/custom_model/): the showcase sweep run
as a user runs it, then the same configs one at a time (`budget.max_population: 1`: each
config its own population, one after another, as a per-trial tuner trains them).

Reported: the best validation accuracy of each architecture against the built-in GRU's,
the two runs' wall times and their ratio, and how far apart the same config's results
are in the two runs (a config trained in a population equals it trained alone). Each run
is a fresh `jaxtune` process with no compile cache, so both pay their compiling.

`python benchmarks/custom_model.py [--quick]` writes
benchmarks/results/custom_model/emotion_attention.json and .md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from jaxtune.bench.harness import publish
from jaxtune.bench.head_to_head import machine

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "experiments" / "custom_model" / "emotion_attention.yaml"
RESULTS = ROOT / "benchmarks" / "results" / "custom_model"
DATA_DIR = ROOT.parent / "shared" / "data"
MODES = {"population": {}, "one at a time": {"max_population": 1}}


def study_spec(quick: bool, mode: str) -> dict[str, Any]:
    document = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    if quick:  # the study end to end in seconds on a synthetic task, not a measurement
        document["data"] = {"train_size": 160, "val_size": 48, "test_size": 16}
        document["model"].update(embedding_dim=8, hidden_size=8, num_heads=2)
        document["train"]["epochs"] = 1
    budget = document.setdefault("budget", {}) or {}
    budget.update(MODES[mode])
    document["budget"] = budget
    return document


def run_mode(quick: bool, mode: str, work: Path, data_dir: Path) -> dict[str, Any]:
    """One run of the study (a fresh process, from the repository root, where the spec's
    module path is found); with `final` on the population run."""
    folder = work / mode.replace(" ", "_")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(study_spec(quick, mode), sort_keys=False), encoding="utf-8")
    out = folder / "sweep"
    jaxtune = str(Path(sys.executable).parent / "jaxtune")
    command = [jaxtune, "sweep", str(path), "--out", str(out), "--overwrite"]
    command += ["--data-dir", str(data_dir), "--compile-cache", "off", "--wandb", "disabled"]
    started = time.perf_counter()
    with open(folder / "sweep.log", "w", encoding="utf-8") as log:
        subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, check=True, cwd=ROOT)
        wall = time.perf_counter() - started
        final = None
        if mode == "population":
            subprocess.run(
                [jaxtune, "final", str(out), "--data-dir", str(data_dir)],
                stdout=log,
                stderr=subprocess.STDOUT,
                check=True,
                cwd=ROOT,
            )
            final = json.loads((out / "final.json").read_text())
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    sweep = json.loads((out / "sweep.json").read_text())
    return {"wall_seconds": wall, "records": records, "sweep": sweep, "final": final}


def short(architecture: str) -> str:
    """A module's class name ('...attention_models:AttentionBiGRU' -> AttentionBiGRU)."""
    return architecture.rpartition(":")[2]


def summarize(runs: dict[str, dict[str, Any]], quick: bool) -> dict[str, Any]:
    population = runs["population"]["records"]
    alone = {r["trial_id"]: r for r in runs["one at a time"]["records"]}
    per_architecture: dict[str, dict[str, Any]] = {}
    for record in population:
        best = (record.get("best") or {}).get("val_accuracy")
        name = short(record["hparams"]["architecture"])
        entry = per_architecture.setdefault(name, {"best_val_accuracy": None, "configs": 0})
        entry["configs"] += 1
        if best is not None and (entry["best_val_accuracy"] or -1.0) < best:
            entry["best_val_accuracy"] = best
            entry["trial_id"] = record["trial_id"]
            entry["hparams"] = {
                k: record["hparams"][k] for k in ("learning_rate", "attention_dropout")
            }
    gru = per_architecture.get("gru", {}).get("best_val_accuracy")
    for entry in per_architecture.values():
        value = entry["best_val_accuracy"]
        entry["vs_gru"] = None if value is None or gru is None else value - gru
    differences = [
        abs(r["best"]["val_accuracy"] - alone[r["trial_id"]]["best"]["val_accuracy"])
        for r in population
        if r.get("best") and alone.get(r["trial_id"], {}).get("best")
    ]
    walls = {mode: run["wall_seconds"] for mode, run in runs.items()}
    final = runs["population"]["final"] or {}
    return {
        "quick": quick,
        "machine": machine(),
        "configs": len(population),
        "config_epochs": runs["population"]["sweep"].get("config_epochs"),
        "per_architecture": per_architecture,
        "wall_seconds": walls,
        "speedup": walls["one at a time"] / walls["population"],
        "max_best_val_accuracy_difference": max(differences, default=None),
        "compared_configs": len(differences),
        "final": {k: v for k, v in final.items() if k.startswith("test_") or k == "trial_id"},
    }


def markdown(result: dict[str, Any]) -> str:
    def fmt(value, spec=".4f"):
        return "-" if value is None else format(value, spec)

    lines = [
        "# Your own model in the population (experiments/custom_model/emotion_attention.yaml)",
        "",
        f"{result['configs']} configs on {result['machine']}"
        + (" (quick: a synthetic slice, not a measurement)" if result["quick"] else "")
        + ".",
        "",
        "| architecture | configs | best val accuracy | vs GRU | its learning rate, "
        "attention dropout |",
        "|---|---:|---:|---:|---|",
    ]
    for name, entry in sorted(
        result["per_architecture"].items(), key=lambda item: -(item[1]["best_val_accuracy"] or 0)
    ):
        hparams = entry.get("hparams", {})
        lines.append(
            f"| {name} | {entry['configs']} | {fmt(entry['best_val_accuracy'])} | "
            f"{fmt(entry['vs_gru'], '+.4f')} | {hparams.get('learning_rate')}, "
            f"{hparams.get('attention_dropout') if name != 'gru' else 'n/a'} |"
        )
    walls = result["wall_seconds"]
    lines += [
        "",
        "| run | wall seconds |",
        "|---|---:|",
        *(f"| {mode} | {seconds:.0f} |" for mode, seconds in walls.items()),
        "",
        f"The population ran the same configs {result['speedup']:.2f}x as fast as one at a "
        "time (each run a fresh process, compiling included, no compile cache).",
        f"Largest difference of a config's best validation accuracy between the two runs: "
        f"{fmt(result['max_best_val_accuracy_difference'])} over "
        f"{result['compared_configs']} configs.",
    ]
    final = result["final"]
    if final:
        lines += [
            "",
            f"Test set (the best config, trial {final.get('trial_id')}, evaluated once): "
            f"accuracy {fmt(final.get('test_accuracy'))}, macro-F1 "
            f"{fmt(final.get('test_macro_f1'))}.",
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a slice, seconds, no measurement")
    parser.add_argument("--out", default=str(RESULTS), help="where the JSON and Markdown go")
    parser.add_argument("--work", default="runs/bench_custom_model", help="the sweeps' folder")
    parser.add_argument("--data-dir", default=str(DATA_DIR), help="the shared datasets")
    args = parser.parse_args(argv)
    work = Path(args.work).resolve()
    runs = {mode: run_mode(args.quick, mode, work, Path(args.data_dir)) for mode in MODES}
    result = summarize(runs, args.quick)
    publish(args.out, "emotion_attention", result, markdown(result))
