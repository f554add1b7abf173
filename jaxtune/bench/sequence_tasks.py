"""The named-config CTC study (experiments/named_configs_ctc.yaml) run as a user runs it,
ranked by validation character accuracy, beside two rules that read the readout task
without a model and show what the model had to learn.

- "every digit token": drop the fillers, read every digit token (a run of three copies
  is read three times): what reading without CTC's collapsing gives.
- "merge equal neighbours": drop the fillers, then collapse equal neighbours: the runs
  are right, but "3 uh 3" (two 3s) is read as one; what collapsing without a blank gives.
- "ignore retractions": runs collapsed where no filler parts them, "no" read as a filler:
  every target is right but for the digits a "no" takes back ("3 7 no 5" is 3 5); what a
  reader that never looks one token ahead gives.
The task itself is noiseless (the exact rule reads every target), so a model's distance
to 1.0 is all its own.

`python benchmarks/sequence_tasks.py [--quick]` writes
benchmarks/results/sequence/named_configs_ctc.json and .md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from jaxtune.bench.harness import publish
from jaxtune.bench.head_to_head import machine

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "experiments" / "named_configs_ctc.yaml"
RESULTS = ROOT / "benchmarks" / "results" / "sequence"
QUICK = {"train_size": 160, "val_size": 48, "test_size": 16}
QUICK_CONFIGS = ("conservative_small", "gru_fast", "cnn_baseline")


def rule_readings(split, vocab: tuple[str, ...]) -> dict[str, list[list[int]]]:
    """Each rule's reading of every example of a readout split, as label ids (a digit d is
    label d + 1; 0 is the blank)."""
    digit_id = {vocab.index(str(d)): d + 1 for d in range(10)}
    every, merged, forward = [], [], []
    for tokens, length in zip(split.tokens, split.lengths, strict=True):
        tokens = tokens[:length].tolist()
        digits = [digit_id[t] for t in tokens if t in digit_id]
        every.append(digits)
        merged.append([d for i, d in enumerate(digits) if i == 0 or d != digits[i - 1]])
        # Runs of one token merged, every other token (filler or "no") parting them.
        runs = [t for i, t in enumerate(tokens) if i == 0 or t != tokens[i - 1]]
        forward.append([digit_id[t] for t in runs if t in digit_id])
    return {
        "every digit token": every,
        "merge equal neighbours": merged,
        "ignore retractions": forward,
    }


def rule_scores(split, vocab: tuple[str, ...]) -> dict[str, dict[str, float]]:
    """Character accuracy (1 - CER, clipped at 0), CER and sequence accuracy of each rule."""
    truths = [row[:n].tolist() for row, n in zip(split.labels, split.label_lengths, strict=True)]
    scores = {}
    for name, readings in rule_readings(split, vocab).items():
        edits = process.cpdist(readings, truths, scorer=Levenshtein.distance, workers=1)
        cer = float(np.sum(edits)) / float(np.sum(split.label_lengths))
        exact = np.mean([r == t for r, t in zip(readings, truths, strict=True)])
        scores[name] = {
            "char_accuracy": max(0.0, 1.0 - cer),
            "cer": cer,
            "sequence_accuracy": float(exact),
        }
    return scores


def study_spec(quick: bool) -> dict[str, Any]:
    document = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    if quick:  # the study end to end in seconds, not a measurement
        document["data"].update(QUICK)
        document["model"].update(epochs=2, embedding_dim=8, model_size="small")
        document["configs"] = {name: document["configs"][name] for name in QUICK_CONFIGS}
    return document


def run(quick: bool, work: Path) -> dict[str, Any]:
    """The study's sweep and final evaluation, each a fresh `jaxtune` process."""
    from jaxtune.data.sources import load_dataset
    from jaxtune.spec import parse_spec

    work.mkdir(parents=True, exist_ok=True)
    document = study_spec(quick)
    path = work / "named_configs_ctc.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    out = work / "sweep"
    jaxtune = str(Path(sys.executable).parent / "jaxtune")
    started = time.perf_counter()
    with open(work / "sweep.log", "w", encoding="utf-8") as log:
        subprocess.run(
            [jaxtune, "sweep", str(path), "--out", str(out), "--overwrite"],
            stdout=log,
            stderr=subprocess.STDOUT,
            check=True,
        )
        wall = time.perf_counter() - started
        subprocess.run(
            [jaxtune, "final", str(out)], stdout=log, stderr=subprocess.STDOUT, check=True
        )
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    final = json.loads((out / "final.json").read_text())
    spec = parse_spec(document, str(path))
    dataset, _ = load_dataset(spec.data)
    rows = []
    for record in records:
        best = record.get("best") or {}
        rows.append(
            {
                "name": record["name"],
                "status": record["status"],
                "val_char_accuracy": best.get("val_char_accuracy"),
                "val_cer": best.get("val_cer"),
                "val_sequence_accuracy": best.get("val_sequence_accuracy"),
                "best_epoch": record["best_epoch"],
                "epochs_run": record["epochs_run"],
                "reason": record["status_reason"],
                "hparams": {k: record["hparams"][k] for k in HPARAMS_SHOWN},
            }
        )
    # Best first; a config that never evaluated (FAILED to build) last.
    rows.sort(key=lambda r: r["val_char_accuracy"] or -1.0, reverse=True)
    return {
        "quick": quick,
        "machine": machine(),
        "sweep_seconds": wall,
        "data": {split: len(getattr(dataset, split)) for split in ("train", "val", "test")},
        "configs": rows,
        "rules_on_val": rule_scores(dataset.val, dataset.vocab),
        "final": {k: v for k, v in final.items() if k.startswith("test_") or k == "trial_id"},
    }


HPARAMS_SHOWN = ("architecture", "model_size", "hidden_size", "num_layers", "bidirectional")


def markdown(result: dict[str, Any]) -> str:
    def fmt(value):
        return "-" if value is None else f"{value:.4f}"

    lines = [
        "# Named-config CTC study (experiments/named_configs_ctc.yaml)",
        "",
        f"Readout task, {result['data']['train']} / {result['data']['val']} / "
        f"{result['data']['test']} examples; the sweep took {result['sweep_seconds']:.0f} s "
        f"on {result['machine']}.",
        "",
        "| rank | config | val char acc | val CER | val seq acc | best epoch | status |",
        "|---:|---|---:|---:|---:|---:|---|",
    ]
    for rank, row in enumerate(result["configs"], 1):
        lines.append(
            f"| {rank} | {row['name']} | {fmt(row['val_char_accuracy'])} | "
            f"{fmt(row['val_cer'])} | {fmt(row['val_sequence_accuracy'])} | "
            f"{row['best_epoch'] or '-'} | {row['status']} |"
        )
    lines += ["", "Rules without a model, on the same validation split:", ""]
    lines += ["| rule | char acc | CER | seq acc |", "|---|---:|---:|---:|"]
    for name, score in result["rules_on_val"].items():
        lines.append(
            f"| {name} | {fmt(score['char_accuracy'])} | {fmt(score['cer'])} | "
            f"{fmt(score['sequence_accuracy'])} |"
        )
    final = result["final"]
    lines += [
        "",
        f"Test set (the best config, evaluated once): char accuracy "
        f"{fmt(final.get('test_char_accuracy'))}, sequence accuracy "
        f"{fmt(final.get('test_sequence_accuracy'))}.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a slice, seconds, no measurement")
    parser.add_argument("--out", default=str(RESULTS), help="where the JSON and Markdown go")
    parser.add_argument("--work", default="runs/bench_sequence", help="the sweep's directory")
    args = parser.parse_args(argv)
    result = run(args.quick, Path(args.work))
    publish(args.out, "named_configs_ctc", result, markdown(result))
