"""Sweep results on disk (results.jsonl, one line per trial) and their ranking."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from jaxtune.layout import FINAL_FILE, RESULTS_FILE, RUN_FILE, SWEEP_FILE
from jaxtune.records import TrialRecord

__all__ = ["FINAL_FILE", "RESULTS_FILE", "RUN_FILE", "SWEEP_FILE"]


def write_json(path: Path, document: Any) -> Path:
    """Write a JSON document atomically (temporary file, fsync, rename)."""
    temporary = path.with_suffix(path.suffix + ".tmp")
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=1, sort_keys=True)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    return path


def recorded_data_dir(directory: Path) -> str | None:
    """The --data-dir a sweep was started with (`run.json`), for final, refine and report."""
    path = Path(directory) / RUN_FILE
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8")).get("data_dir")


def write_results(directory: Path, records: list[TrialRecord]) -> Path:
    """Write all records atomically: a kill mid-write leaves the previous file intact."""
    path = directory / RESULTS_FILE
    temporary = path.with_suffix(".jsonl.tmp")
    with open(temporary, "w", encoding="utf-8") as handle:
        for record in sorted(records, key=lambda r: r["trial_id"]):
            handle.write(json.dumps(record, sort_keys=True) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    return path


def read_results(directory: Path) -> list[TrialRecord]:
    with open(directory / RESULTS_FILE, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def best_value(record: TrialRecord, metric: str) -> float | None:
    best = record.get("best")
    if not best or not math.isfinite(best.get(metric, math.nan)):
        return None
    return best[metric]


def rank(records: list[TrialRecord], metric: str, goal: str) -> list[TrialRecord]:
    """Best first by the metric at each trial's best epoch; pruned trials (early_terminate
    ended them before their budget) after the others, trials without a value last.

    Seed replicates (replicates.py) rank by their config's mean first: a config's
    replicates together, the best config's first, each config's best replicate first."""
    from jaxtune.replicates import config_key, replicated, summaries

    sign = -1.0 if goal == "maximize" else 1.0
    means = {}
    if replicated(records):
        means = {k: s.mean for k, s in summaries(records, metric).items()}

    def key(record):
        value = best_value(record, metric)
        tier = 2 if value is None else int(record.get("status") == "pruned")
        own = 0.0 if value is None else sign * value
        mean = means.get(config_key(record["hparams"])) if means else None
        group = own if mean is None else sign * mean
        return (tier, group, own, record["trial_id"])

    return sorted(records, key=key)


def varying_hparams(records: list[TrialRecord]) -> list[str]:
    """Hyperparameter names whose value differs between trials, in record order.

    num_layers is left out when it varies only as the length of per-layer hidden_size
    lists ([128, 64] implies 2 layers): hidden_size's value already says it.
    """
    if not records:
        return []
    names = list(records[0]["hparams"])
    varying = [n for n in names if len({json.dumps(r["hparams"][n]) for r in records}) > 1]
    if "num_layers" in varying and _layers_follow_sizes(records):
        varying.remove("num_layers")
    return varying


def _layers_follow_sizes(records: list[dict[str, Any]]) -> bool:
    counts = {
        json.dumps(r["hparams"].get("num_layers"))
        for r in records
        if not isinstance(r["hparams"].get("hidden_size"), list | tuple)
    }
    return len(counts) <= 1
