"""The report's first sections: summary, ranking, hyperparameter effects, learning curves."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from jaxtune.report import figures
from jaxtune.report.analysis import Effect, Sweep, applies, effects
from jaxtune.report.document import Block, Figure, Heading, Paragraph, Strong, Table
from jaxtune.report.text import describe, differing_names, fmt, fmt_value, metric_cell, status_cell
from jaxtune.results import best_value

TOP_CURVES = 5
BEST_MARK = "★"


def summary(sweep: Sweep) -> list[Block]:
    counts = Counter(r.get("status", "?") for r in sweep.records)
    statuses = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    blocks: list[Block] = [
        Heading(f"Sweep report: {sweep.name}", 1),
        Paragraph(
            f"Directory {sweep.directory}; task {sweep.task.name}; method {sweep.method}; "
            f"metric {sweep.metric} "
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


RANKING_HEADERS = {  # short column names; a metric not listed is shown by its name
    "val_accuracy": "val acc",
    "val_loss": "val loss",
    "val_macro_f1": "macro-F1",
    "val_token_accuracy": "val token acc",
    "val_sequence_accuracy": "val sequence acc",
    "val_char_accuracy": "val char acc",
    "val_cer": "val CER",
}


def ranking(sweep: Sweep) -> list[Block]:
    metrics = sweep.ranking_metrics
    named = any(record.get("name") for record in sweep.records)  # a study of named configs
    header = (
        "rank",
        "trial",
        *(["name"] if named else []),
        *sweep.swept,
        *(RANKING_HEADERS.get(m, m) for m in metrics),
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
                *([record.get("name") or "—"] if named else []),
                *(
                    fmt_value(record["hparams"][n]) if applies(record, n) else "n/a"
                    for n in sweep.swept
                ),
                *(metric_cell(record, m) for m in metrics),
                str(record.get("best_epoch") or "—"),
                str(record.get("epochs_run", "—")),
                status_cell(record),
            )
        )
    right = (
        True,
        True,
        *([False] if named else []),
        *(False for _ in sweep.swept),
        *(True for _ in metrics),
        True,
        True,
        False,
    )
    return [
        Heading("Ranking"),
        Paragraph(
            f"All configs, best {sweep.metric} first; metrics at each config's best epoch. "
            "Configs without a finite metric are unranked (—)."
        ),
        Table(header, tuple(rows), right),
    ]


def replicates(sweep: Sweep) -> list[Block]:
    """Seed replicates (replicates.py): each config's mean +- std over its seeds, every
    seed's value, and whether it is within noise of the best; [] without replicates."""
    from jaxtune.replicates import REPEAT, config_key, replicated, summaries, within_noise

    if not replicated(sweep.records):
        return []
    found = summaries(sweep.records, sweep.metric)
    order = list(dict.fromkeys(config_key(r["hparams"]) for r in sweep.records))  # ranked
    best = found[order[0]]
    first = {config_key(r["hparams"]): r for r in sweep.records if r["hparams"][REPEAT] == 0}
    names = [n for n in sweep.swept if n != REPEAT]
    rows = []
    for rank, key in enumerate(order, start=1):
        summary, record = found[key], first.get(key)
        cells = [
            fmt_value(record["hparams"][n]) if record and applies(record, n) else "n/a"
            for n in names
        ]
        mean = "—" if summary.mean is None else f"{summary.mean:.4f} ± {summary.std:.4f}"
        seeds = ", ".join("—" if v is None else f"{v:.4f}" for v in summary.values)
        noise = "best" if rank == 1 else ("yes" if within_noise(summary, best) else "no")
        rows.append((str(rank), *cells, mean, seeds, noise))
    header = ("rank", *names, f"{sweep.metric} mean ± std", "each seed", "within noise")
    right = (True, *(False for _ in names), True, False, False)
    return [
        Heading("Seed replicates"),
        Paragraph(
            f"Each config trained {len(best.trial_ids)} times in its population, each repeat "
            "with its own initialisation and dropout seeds and the same data order; configs "
            f"ranked by the mean of their repeats' best {sweep.metric} (sample std). Within "
            "noise: its mean ± std overlaps the best config's."
        ),
        Table(header, tuple(rows), right),
    ]


def hyperparameters(sweep: Sweep, figure_dir: Path) -> list[Block]:
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


def learning_curves(sweep: Sweep, figure_dir: Path) -> list[Block]:
    top = sweep.scored[:TOP_CURVES]
    blocks: list[Block] = [Heading("Learning curves")]
    if not top:
        return blocks + [Paragraph("No config has a finite metric: no curves to compare.")]
    names = differing_names(top, sweep.swept)
    labels = [
        f"#{i + 1}: trial {r['trial_id']}" + (f" ({describe(r, names)})" if names else "")
        for i, r in enumerate(top)
    ]
    path = figures.plot_learning_curves(
        top, labels, figure_dir / "learning_curves.png", task=sweep.task
    )
    return blocks + [Figure(path, f"train/val loss and accuracy of the top {len(top)} configs")]
