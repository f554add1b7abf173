"""The report's conclusions: cell types side by side and the recommendations."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import yaml

from jaxtune.report import figures
from jaxtune.report.analysis import (
    CELL_TYPE,
    Sweep,
    cell_matches,
    differing,
    effects,
    non_defaults,
)
from jaxtune.report.document import Block, Code, Figure, Heading, Paragraph, Strong, Table
from jaxtune.report.text import fmt, fmt_value


def cell_types(sweep: Sweep, figure_dir: Path) -> list[Block]:
    blocks: list[Block] = [Heading("Cell types")]
    cells, matches = cell_matches(sweep)
    if len(cells) < 2:
        only = cells[0] if cells else "?"
        return blocks + [
            Paragraph(f"Only one cell type in this sweep ({only}): nothing to compare.")
        ]
    if not matches:
        return blocks + [
            Paragraph(
                f"Cell types {', '.join(cells)} were swept, but no configs of different cell types "
                "agree on every other swept hyperparameter: nothing matches, so no side-by-side "
                "comparison."
            )
        ]
    names = differing(matches)  # columns; values every group shares go in the text
    common = {n: v for n, v in matches[0].shared.items() if n not in names}
    ignored = [n for n in sweep.swept if n != CELL_TYPE and n not in matches[0].shared]
    rows = []
    wins: Counter = Counter()
    sign = 1.0 if sweep.goal == "maximize" else -1.0
    for match in matches:
        finite = {c: s for c, s in match.scores.items() if s is not None}
        if len(finite) >= 2:
            wins[max(finite, key=lambda c: sign * finite[c])] += 1
        scores = [
            "—"
            if not match.trials[c]
            else "failed"
            if match.scores[c] is None
            else fmt(match.scores[c])
            for c in cells
        ]
        trials = [f"{c}: {' '.join(map(str, match.trials[c]))}" for c in cells if match.trials[c]]
        rows.append((*(fmt_value(match.shared[n]) for n in names), *scores, ", ".join(trials)))
    label = figures.metric_label(sweep.metric)
    path = figures.plot_cell_types(cells, matches, sweep.metric, figure_dir / "cell_types.png")
    compared = sum(wins.values())
    text = [
        f"{len(matches)} group(s) of configs of different cell types that agree on every other "
        f"swept hyperparameter; each cell shows the best {label} of that cell type's configs "
        f"in the group. Wins: {'; '.join(f'{c} {wins[c]} of {compared}' for c in cells)}."
    ]
    if common:
        text.append(
            " Every group has " + ", ".join(f"{n}={fmt_value(v)}" for n, v in common.items()) + "."
        )
    if ignored:
        text.append(f" Not matched on {', '.join(ignored)} (ignored by one of the cell types).")
    return blocks + [
        Paragraph("".join(text)),
        Table(
            (*names, *cells, "trials"),
            tuple(rows),
            (*(False for _ in names), *(True for _ in cells), False),
        ),
        Figure(path, f"best {label} per cell type on matched configs"),
    ]


def recommendations(sweep: Sweep) -> list[Block]:
    blocks: list[Block] = [Heading("Recommendations")]
    if not sweep.scored:
        return blocks + [Paragraph("No config finished: no recommendation.")]
    ranked = sorted(
        (e for e in effects(sweep) if e.spread is not None), key=lambda e: (-e.spread, e.name)
    )
    if ranked:
        rows = tuple(
            (
                e.name,
                Strong(fmt_value(e.best)),
                fmt(e.spread),
                " / ".join(fmt_value(v) for v in e.values),
            )
            for e in ranked
        )
        blocks += [
            Paragraph(
                f"Best value per hyperparameter, most sensitive first (sensitivity: the spread of "
                f"the best {sweep.metric} across its values, as `jaxtune refine` ranks them)."
            ),
            Table(
                ("hyperparameter", "best value", "sensitivity", "values tried"),
                rows,
                (False, False, True, False),
            ),
        ]
    best = sweep.records[0]
    changed = non_defaults(best["hparams"])
    blocks += [
        Heading("Recommended final config", 3),
        Paragraph(
            f"The best config (trial {best['trial_id']}) in full; ",
            Strong("bold"),
            " values differ from jaxtune's defaults.",
        ),
        Table(
            ("hyperparameter", "value"),
            tuple(
                (n, Strong(fmt_value(v)) if n in changed else fmt_value(v))
                for n, v in best["hparams"].items()
            ),
        ),
        Paragraph("As a spec's model section (defaults left out):"),
        Code(
            yaml.safe_dump(
                {"model": {n: v for n, v in best["hparams"].items() if n in changed}},
                sort_keys=False,
                default_flow_style=None,
            ),
            "yaml",
        ),
    ]
    return blocks
