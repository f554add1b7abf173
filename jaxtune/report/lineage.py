"""The report's population-based training section: every perturbation (who copied whom,
after which evaluation, with which new values), and the top configs' hyperparameter
schedules beside their curves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jaxtune.report import figures
from jaxtune.report.analysis import Sweep
from jaxtune.report.document import Block, Figure, Heading, Paragraph, Table
from jaxtune.report.figures import metric_label
from jaxtune.report.text import fmt_value

TOP_SCHEDULES = 5
FIGURE = "pbt_schedules.png"


def schedule(record: dict[str, Any], name: str) -> list[Any]:
    """The value of `name` each evaluation of the config trained with (its config's, then
    each perturbation's from the evaluation after it)."""
    value = record["hparams"].get(name)
    changes = {
        e["epoch"]: e["hparams"][name] for e in record.get("lineage", []) if name in e["hparams"]
    }
    out = []
    for evaluation in range(1, len(record.get("history") or []) + 1):
        out.append(value)
        value = changes.get(evaluation, value)
    return out


def pbt_section(sweep: Sweep, figure_dir: Path) -> list[Block]:
    moved = [r for r in sweep.records if r.get("lineage")]
    if not moved:
        return []
    names = sorted({n for r in moved for e in r["lineage"] for n in e["hparams"]})
    rows = []
    for record in moved:
        for event in record["lineage"]:
            rows.append(
                (
                    str(record["trial_id"]),
                    str(event["epoch"]),
                    str(event["copied"]),
                    *(fmt_value(event["hparams"].get(n)) for n in names),
                )
            )
    blocks: list[Block] = [
        Heading("Population-based training"),
        Paragraph(
            f"{len(rows)} perturbations of {len(moved)} configs: after the evaluation named, "
            "the config copied the training state of the trial it names and continued with "
            "the values shown (the rest of its curve is its own)."
        ),
        Table(("trial", "after evaluation", "copied trial", *names), tuple(rows)),
    ]
    top = sweep.scored[:TOP_SCHEDULES]
    if top:
        schedules = [{n: schedule(r, n) for n in names} for r in top]
        path = figures.plot_schedules(top, schedules, sweep.metric, figure_dir / FIGURE)
        blocks.append(
            Figure(path, f"{', '.join(names)} and {metric_label(sweep.metric)} of the top configs")
        )
    return blocks
