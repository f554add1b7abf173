"""`jaxtune report DIR`: the sections of the report, written as report.md, report.html, figures/."""

from __future__ import annotations

import dataclasses
import math
import os
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from jaxtune.report import figures
from jaxtune.report.analysis import (
    CELL_TYPE,
    Effect,
    Sweep,
    cell_matches,
    effects,
    final_evaluation,
    load_sweep,
    non_defaults,
    throughput,
)
from jaxtune.report.document import (
    Block,
    Code,
    Figure,
    Heading,
    Paragraph,
    Strong,
    Table,
    to_html,
    to_markdown,
)
from jaxtune.results import FINAL_FILE, SWEEP_FILE, best_value

FIGURES_DIR = "figures"
OWN_FIGURES = (
    "hparam_*.png",
    "overview.png",
    "studies.png",
    "learning_curves.png",
    "cell_types.png",
)
TOP_CURVES = 5
BEST_MARK = "★"


@dataclasses.dataclass(frozen=True)
class Written:
    markdown: Path
    html: Path
    figures: list[Path]


def write_report(directory: Path) -> Written:
    """Write DIR/report.md, DIR/report.html (figures embedded) and DIR/figures/*.png."""
    sweep = load_sweep(directory)
    figure_dir = directory / FIGURES_DIR
    for pattern in OWN_FIGURES:  # a figure of an earlier report that no longer applies
        for stale in figure_dir.glob(pattern):
            stale.unlink()
    blocks = [
        *_summary(sweep),
        *_ranking(sweep),
        *_hyperparameters(sweep, figure_dir),
        *_learning_curves(sweep, figure_dir),
        *_cell_types(sweep, figure_dir),
        *_recommendations(sweep),
        *_throughput(sweep),
        *_final(sweep),
    ]
    markdown = _write(directory / "report.md", to_markdown(blocks, directory))
    page = _write(directory / "report.html", to_html(blocks, f"jaxtune report: {sweep.name}"))
    return Written(markdown, page, [b.path for b in blocks if isinstance(b, Figure)])


def _write(path: Path, text: str) -> Path:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
    return path


def fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.{digits}f}" if digits else f"{value:g}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(fmt(v, 0) for v in value) + "]"
    return str(value)


def fmt_value(value: Any) -> str:
    """A hyperparameter value as the spec would write it (null, true, [3, 4, 5], 0.001)."""
    return "null" if value is None else fmt(value, 0)


def _metric(record: dict[str, Any], name: str) -> str:
    value = (record.get("best") or {}).get(name)
    return "—" if value is None else fmt(float(value))


def _status(record: dict[str, Any]) -> str:
    status = record.get("status", "?")
    if status in ("failed", "pruned"):
        reason = record.get("status_reason")
        return f"{status.upper()}: {reason}" if reason else status.upper()
    return status


def _summary(sweep: Sweep) -> list[Block]:
    counts = Counter(r.get("status", "?") for r in sweep.records)
    statuses = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    blocks: list[Block] = [
        Heading(f"Sweep report: {sweep.name}", 1),
        Paragraph(
            f"Directory {sweep.directory}; method {sweep.method}; metric {sweep.metric} "
            f"({sweep.goal}), read at each config's best epoch; {len(sweep.records)} configs "
            f"({statuses})."
        ),
    ]
    if not sweep.scored:
        blocks.append(
            Paragraph(
                Strong(f"No config finished with a finite {sweep.metric}"),
                f": all {len(sweep.records)} configs failed or have no evaluation, so there is "
                "no best config, no recommendation and no hyperparameter effect to show.",
            )
        )
    else:
        best = sweep.records[0]
        blocks.append(
            Paragraph(
                "Best config: ",
                Strong(f"trial {best['trial_id']}"),
                f", {sweep.metric} {fmt(best_value(best, sweep.metric))} at epoch "
                f"{best.get('best_epoch')} ({describe(best, sweep.swept) or 'the only config'}).",
            )
        )
    return blocks


def describe(record: dict[str, Any], names: list[str], limit: int = 90) -> str:
    """What sets a config apart: its study's value (one-at-a-time) or the given names' values."""
    studies = record.get("studies") or []
    if len(studies) > 1:
        return "the baseline"
    if studies:
        names = studies
    text = ", ".join(f"{n}={figures.value_label(record['hparams'][n], 16)}" for n in names)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _differing(records: list[dict[str, Any]], names: list[str]) -> list[str]:
    return [n for n in names if len({fmt_value(r["hparams"][n]) for r in records}) > 1]


def _ranking(sweep: Sweep) -> list[Block]:
    metrics = ("val_accuracy", "val_loss", "val_macro_f1")
    header = (
        "rank",
        "trial",
        *sweep.swept,
        "val acc",
        "val loss",
        "macro-F1",
        "best epoch",
        "epochs run",
        "status",
    )
    rows = []
    position = 0
    for record in sweep.records:
        scored = best_value(record, sweep.metric) is not None
        position += scored
        rows.append(
            (
                str(position) if scored else "—",
                str(record["trial_id"]),
                *(fmt_value(record["hparams"][n]) for n in sweep.swept),
                *(_metric(record, m) for m in metrics),
                str(record.get("best_epoch") or "—"),
                str(record.get("epochs_run", "—")),
                _status(record),
            )
        )
    right = (True, True, *(False for _ in sweep.swept), True, True, True, True, True, False)
    return [
        Heading("Ranking"),
        Paragraph(
            f"All configs, best {sweep.metric} first; metrics at each config's best epoch. "
            "Configs without a finite metric are unranked (—)."
        ),
        Table(header, tuple(rows), right),
    ]


def _hyperparameters(sweep: Sweep, figure_dir: Path) -> list[Block]:
    blocks: list[Block] = [Heading("Hyperparameters")]
    found = effects(sweep)
    if not found:
        blocks.append(Paragraph("Nothing was swept: every config has the same hyperparameters."))
        return blocks
    label = figures.metric_label(sweep.metric)
    blocks.append(
        Paragraph(
            f"For each swept hyperparameter, the best {label} among the configs with each value "
            + (
                "in its one-at-a-time study (the baseline and the configs that vary only it). "
                if sweep.has_studies
                else "(every other hyperparameter at any value). "
            )
            + f"{BEST_MARK} marks the value of the best config."
        )
    )
    for effect in found:
        blocks += [Heading(effect.name, 3), _effect_table(effect, label)]
        if effect.finite_scores:
            path = figures.plot_effect(
                effect, sweep.metric, figure_dir / f"hparam_{effect.name}.png"
            )
            blocks.append(Figure(path, f"best {label} per value of {effect.name}"))
        else:
            blocks.append(Paragraph(f"No config finished with any {effect.name}: nothing to plot."))
    if not sweep.scored:
        return blocks
    blocks += [
        Heading("Overview", 3),
        Figure(
            figures.plot_overview(found, sweep.metric, figure_dir / "overview.png"),
            "all hyperparameters",
        ),
        Figure(
            figures.plot_studies(
                found, sweep.metric, sweep.goal, sweep.has_studies, figure_dir / "studies.png"
            ),
            f"best {label} reached per hyperparameter"
            + (" study" if sweep.has_studies else "")
            + "; the bar spans its worst to best value",
        ),
    ]
    return blocks


def effect_rows(effect: Effect) -> list[tuple[str, str, str]]:
    """(value, best score, configs) per value; the best config's value starred."""
    rows = []
    for index, (value, score, count) in enumerate(
        zip(effect.values, effect.scores, effect.counts, strict=True)
    ):
        mark = f" {BEST_MARK}" if index == effect.best_index else ""
        rows.append(
            (fmt_value(value) + mark, "failed" if score is None else fmt(score), str(count))
        )
    return rows


def _effect_table(effect: Effect, label: str) -> Table:
    rows = tuple(
        (Strong(value) if i == effect.best_index else value, score, count)
        for i, (value, score, count) in enumerate(effect_rows(effect))
    )
    return Table((effect.name, f"best {label}", "configs"), rows, (False, True, True))


def _learning_curves(sweep: Sweep, figure_dir: Path) -> list[Block]:
    top = sweep.scored[:TOP_CURVES]
    blocks: list[Block] = [Heading("Learning curves")]
    if not top:
        return blocks + [Paragraph("No config has a finite metric: no curves to compare.")]
    names = _differing(top, sweep.swept)
    labels = [
        f"#{i + 1}: trial {r['trial_id']}" + (f" ({describe(r, names)})" if names else "")
        for i, r in enumerate(top)
    ]
    path = figures.plot_learning_curves(top, labels, figure_dir / "learning_curves.png")
    return blocks + [Figure(path, f"train/val loss and accuracy of the top {len(top)} configs")]


def _cell_types(sweep: Sweep, figure_dir: Path) -> list[Block]:
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
    names = figures.differing(matches)  # columns; values every group shares go in the text
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


def _recommendations(sweep: Sweep) -> list[Block]:
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


def _throughput(sweep: Sweep) -> list[Block]:
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


FINAL_KEYS = ("trial_id", "best_epoch", "test_accuracy", "test_loss", "test_macro_f1", "test_size")


def _final(sweep: Sweep) -> list[Block]:
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
    keys = [k for k in (*FINAL_KEYS[:2], validation, *FINAL_KEYS[2:]) if k in final]
    keys += [k for k in ("first_evaluated_at", "evaluated_at") if k in final]
    blocks.append(
        Table(("", "value"), tuple((k, _final_value(final[k])) for k in keys), (False, True))
    )
    per_class = final.get("test_per_class_accuracy")
    if isinstance(per_class, list) and per_class:
        names = final.get("label_names") or [str(i) for i in range(len(per_class))]
        blocks.append(
            Table(
                ("class", "test accuracy"),
                tuple((str(n), _final_value(a)) for n, a in zip(names, per_class, strict=False)),
                (False, True),
            )
        )
    top = [t for t in final.get("top") or [] if isinstance(t, dict)]
    if len(top) > 1:
        columns = [
            k for k in ("trial_id", validation, "test_accuracy", "test_loss", "test_macro_f1")
        ]
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
