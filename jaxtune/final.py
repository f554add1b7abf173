"""The final test-set evaluation: the best config's best-epoch params on the test split, once.

final.json records `test_<metric>` for each of the task's metrics (tasks.py; classify:
test_loss, test_accuracy, test_macro_f1) and the per-class accuracy (empty for ctc).
`run_final` refuses a second evaluation and returns the recorded one, unless `force`,
which re-evaluates and appends the time to the record's `forced` list (the report shows
it): looking at the test set twice is a decision someone should see.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
from pathlib import Path
from typing import Any

import jax

from jaxtune.checkpoints import load_config_params
from jaxtune.data.sources import load_dataset
from jaxtune.data.widths import clip_buckets, config_width
from jaxtune.population.factory import make_population
from jaxtune.population.hparams import hparam_arrays
from jaxtune.population.program import program_for
from jaxtune.population.shapes import corner_slice
from jaxtune.population.status import EarlyStopping
from jaxtune.results import FINAL_FILE, best_value, rank, read_results, write_json
from jaxtune.space import complete_config
from jaxtune.spec.resolve import read_resolved
from jaxtune.tasks import Task, task_of
from jaxtune.views import EvalPlan

METRIC_NAMES = {"macro_f1": "macro-F1", "cer": "CER"}  # for the command line; else by name


class FinalError(ValueError):
    """The sweep cannot be evaluated (unfinished, no params, no finished config)."""


@dataclasses.dataclass(frozen=True)
class FinalOutcome:
    document: dict[str, Any]
    evaluated: bool  # False: the recorded result was returned, nothing was evaluated


def run_final(
    directory: Path,
    *,
    top: int = 1,
    force: bool = False,
    data_dir: str | Path | None = None,
) -> FinalOutcome:
    directory = Path(directory)
    path = directory / FINAL_FILE
    previous = json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
    if previous is not None and not force:
        return FinalOutcome(previous, evaluated=False)
    spec = read_resolved(directory, data_dir)
    ranked = [
        r
        for r in rank(read_results(directory), spec.metric, spec.goal)
        if best_value(r, spec.metric) is not None
    ]
    if not ranked:
        raise FinalError(f"{directory}: no config finished with a finite {spec.metric}")
    missing = [r["trial_id"] for r in ranked[:top] if "params" not in r]
    if missing:
        raise FinalError(
            f"{directory}: no saved params for trial(s) {missing} (sweep from an older version?)"
        )
    dataset, _ = load_dataset(spec.data, cache_dir=directory, data_dir=data_dir)
    task = task_of(spec.task)
    results = []
    for record in ranked[:top]:
        width = config_width(record["hparams"], dataset.test.max_length)
        plan = EvalPlan.of(
            dataset.test.truncate(width),
            spec.train.eval_batch_size,
            clip_buckets(spec.bucket_lengths, width),
        )
        program = program_for(record["hparams"], dataset, spec.class_weights)
        population = make_population(program, EarlyStopping(), devices=1)
        # A merged program stored it in the corner of its widest config's shapes.
        params = corner_slice(
            load_config_params(directory, record["params"]), program.native_params(None)
        )
        batched = jax.tree.map(lambda leaf: leaf[None], params)  # a population of width 1
        hparams = hparam_arrays([complete_config(record["hparams"])], steps_per_epoch=1)
        evaluated = plan.evaluate(population, batched, hparams)
        metrics = jax.tree.map(lambda v: v[0], jax.device_get(evaluated))
        results.append(
            {
                "trial_id": record["trial_id"],
                f"val_{spec.metric.removeprefix('val_')}": best_value(record, spec.metric),
                "best_epoch": record["best_epoch"],
                **{f"test_{m}": float(metrics[m]) for m in task.metrics},
                # ctc counts no confusion: an empty list
                "test_per_class_accuracy": [
                    float(a) for a in metrics.get("per_class_accuracy", ())
                ],
                "hparams": record["hparams"],
            }
        )
    now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    document = {
        **{k: v for k, v in results[0].items() if k != "hparams"},
        "evaluated_at": now,
        "task": task.name,
        "test_size": len(dataset.test),
        "label_names": list(dataset.label_names),
        "top": results,
        "forced": [*(previous or {}).get("forced", []), now] if previous is not None else [],
    }
    if previous is not None:
        document["first_evaluated_at"] = previous.get(
            "first_evaluated_at", previous["evaluated_at"]
        )
    write_json(path, document)
    return FinalOutcome(document, evaluated=True)


def result_line(row: dict[str, Any], task: Task) -> str:
    """One evaluated config as the command line prints it: the task's metrics, the loss
    last (classify: test accuracy, macro-F1, loss)."""
    names = [*task.metrics[1:], task.metrics[0]]
    values = [
        f"{METRIC_NAMES.get(m, m.replace('_', ' '))} {row[f'test_{m}']:.4f}"
        for m in names
        if f"test_{m}" in row
    ]
    return f"trial {row['trial_id']}: test " + ", ".join(values)
