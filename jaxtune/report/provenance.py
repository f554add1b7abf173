"""How the sweep ran (throughput) and what the once-only test evaluation found."""

from __future__ import annotations

from typing import Any

from jaxtune.report.analysis import Sweep, final_evaluation, shown_metrics, throughput
from jaxtune.report.document import Block, Heading, Paragraph, Strong, Table
from jaxtune.report.text import fmt, fmt_value
from jaxtune.results import FINAL_FILE, SWEEP_FILE
from jaxtune.tasks import Task


def throughput_section(sweep: Sweep) -> list[Block]:
    found = throughput(sweep)
    rate = found.config_epochs_per_second
    rows = [
        ("configs trained", str(found.configs)),
        ("config-epochs", str(found.config_epochs)),
        ("wall time", "not recorded" if found.seconds is None else f"{found.seconds:.1f} s"),
        ("config-epochs per second", "—" if rate is None else f"{rate:.2f}"),
        *((name, fmt_value(value)) for name, value in found.details.items()),
    ]
    note = (
        f"Wall time of the whole sweep (data, compiles, training) from {SWEEP_FILE}."
        if found.seconds is not None
        else f"Wall time not recorded (no {SWEEP_FILE} in the sweep directory)."
    )
    return [
        Heading("Throughput"),
        Table(("", "value"), tuple(rows), (False, True)),
        Paragraph(note),
    ]


def final_metric_keys(task: Task) -> list[str]:
    """The test metrics `jaxtune final` records for the task: its main accuracy, the loss,
    then the others (classify: test_accuracy, test_loss, test_macro_f1)."""
    shown = shown_metrics(task, task.default_metric)
    return [f"test_{m.removeprefix('val_')}" for m in shown]


def final_section(sweep: Sweep) -> list[Block]:
    blocks: list[Block] = [Heading("Final test evaluation")]
    final = final_evaluation(sweep)
    if final is None:
        return blocks + [
            Paragraph(
                f"Not run: the test split has not been touched ({FINAL_FILE} missing). "
                "`jaxtune final DIR` evaluates the best config on it once."
            )
        ]
    validation = f"val_{sweep.metric.removeprefix('val_')}"
    tested = final_metric_keys(sweep.task)
    keys = [k for k in ("trial_id", "best_epoch", validation, *tested, "test_size") if k in final]
    keys += [k for k in ("first_evaluated_at", "evaluated_at") if k in final]
    blocks.append(
        Table(("", "value"), tuple((k, _final_value(final[k])) for k in keys), (False, True))
    )
    per_class = final.get("test_per_class_accuracy")
    if sweep.task.has_confusion and isinstance(per_class, list) and per_class:
        names = final.get("label_names") or [str(i) for i in range(len(per_class))]
        blocks.append(
            Table(
                ("tag" if sweep.task.name == "tag" else "class", "test accuracy"),
                tuple((str(n), _final_value(a)) for n, a in zip(names, per_class, strict=False)),
                (False, True),
            )
        )
    top = [t for t in final.get("top") or [] if isinstance(t, dict)]
    if len(top) > 1:
        columns = ["trial_id", validation, *tested]
        blocks += [
            Paragraph(f"The top {len(top)} configs on the test split (`--top {len(top)}`):"),
            Table(
                columns,
                tuple(tuple(_final_value(t.get(k)) for k in columns) for t in top),
                tuple(True for _ in columns),
            ),
        ]
    forced = final.get("forced") or []
    if forced:
        blocks.append(
            Paragraph(
                Strong(f"Evaluated again with --force {len(forced)} time(s): "),
                "; ".join(map(str, forced)),
                ". Each forced run was a further look at the test split.",
            )
        )
    else:
        blocks.append(Paragraph("Evaluated once; never forced again."))
    return blocks


def _final_value(value: Any) -> str:
    return fmt(value) if isinstance(value, float) else fmt(value, 0)
