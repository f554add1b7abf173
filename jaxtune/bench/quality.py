"""The quality benchmark: what a default sweep reaches on each dataset, and how long it takes.

For every dataset a small, sensible sweep (experiments/quality/<name>.yaml: a GRU on 50d
GloVe, frozen vs fine-tuned, on the real datasets, a learning-rate ladder, a few epochs)
runs through the same `run_sweep` as `jaxtune sweep`; the best validation accuracy and
macro-F1 (overall, and of the fine-tuned and the frozen configs), the embedding and its
coverage, the configs trained and the wall time (data loading included) go to
benchmarks/results/quality.json and quality.md.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

from jaxtune.results import best_value
from jaxtune.spec import load_spec
from jaxtune.sweeping import run_sweep

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "experiments" / "quality"
DATASETS = ("synthetic", "emotion", "sst2", "imdb")


class QuietDisplay:
    """A sweep display that keeps what the benchmark reports and prints one line per epoch."""

    def __init__(self, log):
        self.log = log
        self.report = None

    def notice(self, message: str) -> None:
        self.log(f"notice: {message}")

    def data(self, report) -> None:
        self.report = report
        for line in report.lines():
            self.log(line)

    def plan(self, spec, plans, merged, merge=None) -> None:
        programs = len({p.group for p in plans})
        self.log(
            f"{spec.name}: {sum(p.width for p in plans)} configs, {len(plans)} population(s), "
            f"{programs} program(s)"
        )

    def epoch(self, report) -> None:
        best = "-" if report.best_value is None else f"{report.best_value:.4f}"
        self.log(
            f"  population {report.population} epoch {report.epoch}/{report.max_epochs}: "
            f"{report.active}/{report.width} active, best {best}"
        )

    def population_done(self, index: int) -> None:
        pass


def run_dataset(name: str, data_dir: Path, out_dir: Path, log=print) -> dict[str, Any]:
    spec = load_spec(SPECS / f"{name}.yaml")
    display = QuietDisplay(log)
    start = time.perf_counter()
    outcome = run_sweep(spec, out_dir / name, display, overwrite=True, data_dir=data_dir)
    seconds = time.perf_counter() - start
    best = outcome.records[0]
    report = display.report
    embedding = "learned"
    if report.coverage is not None:
        coverage = report.coverage
        embedding = f"GloVe {coverage.dim}d, {coverage.token_coverage:.1%} of training tokens"
    return {
        "dataset": name,
        "spec": str((SPECS / f"{name}.yaml").relative_to(ROOT)),
        "sizes": report.sizes,
        "classes": len(report.label_names),
        "vocab_size": report.vocab_size,
        "padding_waste": report.padding_waste,
        "configs": len(outcome.records),
        "completed": sum(r["status"] in ("completed", "stopped") for r in outcome.records),
        "wall_s": seconds,
        "config_epochs": sum(r["epochs_run"] for r in outcome.records),
        "best_val_accuracy": best_value(best, "val_accuracy"),
        "best_val_macro_f1": best_value(best, "val_macro_f1"),
        "best_epoch": best["best_epoch"],
        "best_hparams": {
            k: best["hparams"][k]
            for k in ("architecture", "hidden_size", "learning_rate", "embedding_trainable")
        },
        "embedding": embedding,
        "best_val_accuracy_by_embedding": best_by_embedding(outcome.records),
    }


def best_by_embedding(records: list[dict[str, Any]]) -> dict[str, float]:
    """The best val accuracy of the fine-tuned and of the frozen configs, when both ran."""
    best = {}
    for record in records:
        value = best_value(record, "val_accuracy")
        name = "fine-tuned" if record["hparams"]["embedding_trainable"] else "frozen"
        if value is not None and value > best.get(name, -1.0):
            best[name] = value
    return best if len(best) == 2 else {}


def markdown_table(report: dict[str, Any]) -> str:
    lines = [
        f"Measured {report['meta']['date']} on {report['meta']['machine']} "
        f"({report['meta']['cpu_count']} CPUs). Each row is one default sweep "
        "(experiments/quality/NAME.yaml); wall time includes reading and tokenizing the data.",
        "",
        "| dataset | train / val / test | classes | configs | best val accuracy "
        "| best val macro-F1 | best config | embedding | fine-tuned / frozen "
        "| wall s | config-epochs/s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in report["rows"]:
        if "error" in row:
            lines.append(f"| {row['dataset']} | error: {row['error']} |" + " |" * 9)
            continue
        sizes = " / ".join(f"{row['sizes'][s]:,}" for s in ("train", "val", "test"))
        hp = row["best_hparams"]
        config = (
            f"{hp['architecture']} H={hp['hidden_size']} lr={hp['learning_rate']:g}"
            f"{'' if hp['embedding_trainable'] else ' frozen emb.'}"
        )
        by_embedding = row.get("best_val_accuracy_by_embedding") or {}
        versus = (
            f"{by_embedding['fine-tuned']:.4f} / {by_embedding['frozen']:.4f}"
            if by_embedding
            else "-"
        )
        lines.append(
            f"| {row['dataset']} | {sizes} | {row['classes']} | {row['configs']} "
            f"| {row['best_val_accuracy']:.4f} | {row['best_val_macro_f1']:.4f} | {config} "
            f"| {row.get('embedding', '-')} | {versus} "
            f"| {row['wall_s']:.0f} | {row['config_epochs'] / row['wall_s']:.3f} |"
        )
    return "\n".join(lines) + "\n"


def run_benchmark(
    datasets, data_dir: Path, out_dir: Path, sweeps_dir: Path, log=print
) -> dict[str, Any]:
    rows = []
    for name in datasets:
        try:
            rows.append(run_dataset(name, data_dir, sweeps_dir, log))
        except (ValueError, OSError) as error:  # a missing dataset is a row, not a crash
            rows.append({"dataset": name, "error": str(error)})
        log(json.dumps(rows[-1]))
    path = out_dir / "quality.json"
    if path.exists():  # a run of some datasets keeps the other datasets' rows
        kept = {row["dataset"]: row for row in json.loads(path.read_text())["rows"]}
        kept.update({row["dataset"]: row for row in rows})
        rows = [kept[name] for name in DATASETS if name in kept]
    report = {
        "meta": {
            "date": datetime.date.today().isoformat(),
            "machine": platform.machine(),
            "cpu_count": os.cpu_count(),
        },
        "rows": rows,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "quality.json").write_text(json.dumps(report, indent=1) + "\n")
    (out_dir / "quality.md").write_text(markdown_table(report))
    return report


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="*", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--sweeps", type=Path, default=ROOT / "runs" / "quality")
    args = parser.parse_args(argv)
    run_benchmark(args.datasets, args.data_dir, args.out, args.sweeps)
    print((args.out / "quality.md").read_text())
