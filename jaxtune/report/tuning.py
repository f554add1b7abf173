"""The report's "Tuning iterations" section of a greedy sweep (`greedy.json`, search/greedy.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jaxtune.layout import GREEDY_FILE
from jaxtune.report import figures
from jaxtune.report.analysis import ReportError, Sweep, json_document
from jaxtune.report.document import Block, Figure, Heading, Paragraph, Strong, Table
from jaxtune.report.text import fmt, fmt_value

FIGURE = "greedy_iterations.png"


def greedy_path(sweep: Sweep) -> list[dict[str, Any]] | None:
    """The iterations of a greedy sweep (baseline first), or None for other sweeps."""
    path = sweep.directory / GREEDY_FILE
    entries = json_document(path, list)
    if entries is not None and not all(isinstance(e, dict) for e in entries):
        raise ReportError(f"{path}: expected a list of iterations")
    return entries


def tuning_iterations(sweep: Sweep, figure_dir: Path) -> list[Block]:
    entries = greedy_path(sweep)
    if not entries:
        return []
    iterations = entries[1:]
    adopted = [e for e in iterations if e["adopted"]]
    blocks: list[Block] = [
        Heading("Tuning iterations"),
        Paragraph(
            f"Greedy coordinate search: starting from the baseline ({sweep.metric} "
            f"{fmt(entries[0]['score'])}), each iteration swept one hyperparameter around "
            f"the current config and adopted its best value when it beat the current one; "
            f"{len(adopted)} of {len(iterations)} iterations adopted a new value, ending at "
            f"{fmt(entries[-1]['score'])} (trial {entries[-1]['trial_id']})."
        ),
    ]
    if iterations:
        path = figures.plot_tuning_iterations(entries, sweep.metric, figure_dir / FIGURE)
        blocks.append(
            Figure(
                path,
                f"{figures.metric_label(sweep.metric)} of the current config after each "
                "iteration (line) and of every value tried (dots); adopted values labelled",
            )
        )
    rows = [("0", "baseline", "", "", "", fmt(entries[0]["score"]))]
    for e in iterations:
        rows.append(
            (
                str(e["iteration"]),
                e["hparam"],
                ", ".join(fmt_value(v) for v in e["values"]),
                fmt_value(e["best_value"]),
                Strong("adopted") if e["adopted"] else "kept",
                fmt(e["score"]),
            )
        )
    header = ("iteration", "hyperparameter", "values tried", "best value", "", f"{sweep.metric}")
    blocks.append(Table(header, tuple(rows), (True, False, False, False, False, True)))
    return blocks
