"""The report's matplotlib figures (Agg, no pyplot state), each written as one PNG."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, NullLocator

from jaxtune.report.analysis import CellMatch, Effect, differing, is_number
from jaxtune.report.text import value_label
from jaxtune.tasks import TASKS, Task

DPI = 120
STAR = {"marker": "*", "markersize": 17, "color": "#f2b01e", "markeredgecolor": "#7a5200"}
COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf")
METRIC_LABELS = {
    "val_accuracy": "val accuracy",
    "val_loss": "val loss",
    "val_macro_f1": "val macro-F1",
    "val_token_accuracy": "val token accuracy",
    "val_sequence_accuracy": "val sequence accuracy",
    "val_char_accuracy": "val char accuracy",
    "val_cer": "val CER",
    "train_accuracy": "train accuracy",
    "train_loss": "train loss",
}


def metric_label(metric: str) -> str:
    return METRIC_LABELS.get(metric, metric)


def _save(figure: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=DPI, facecolor="white")
    return path


def _zoom(ax, scores: Sequence[float], room_on_top: float = 0.35, room_below: float = 0.0) -> None:
    """Y range around the scores (small differences stay visible), with room for the label."""
    low, high = min(scores), max(scores)
    pad = max(high - low, abs(high) * 0.02, 1e-3)
    ax.set_ylim(low - (0.6 + room_below) * pad, high + (0.25 + room_on_top) * pad)


def _crowded(labels: Sequence[str], width_chars: float) -> bool:
    return sum(len(t) + 2 for t in labels) > width_chars


def draw_effect(ax, effect: Effect, metric: str) -> None:
    """One panel: the best metric per value of one hyperparameter, the best value starred."""
    title = effect.name + (" (its study)" if effect.study else "")
    ax.set_title(title, fontsize=11)
    ax.set_xlabel(effect.name)
    ax.set_ylabel(f"best {metric_label(metric)}")
    ax.grid(True, axis="y", alpha=0.3)
    finite = effect.finite_scores
    if not finite:
        ax.text(0.5, 0.5, "no config finished", ha="center", va="center", transform=ax.transAxes)
        ax.set_xticks([])
        return
    labels = [value_label(v) for v in effect.values]
    best = effect.best_index
    if effect.scale == "categorical":
        xs = list(range(len(effect.values)))
        heights = [s if s is not None else 0.0 for s in effect.scores]
        colors = ["#f2b01e" if i == best else "#7aa6d6" for i in xs]
        ax.bar(xs, heights, color=colors, edgecolor="#333", linewidth=0.6, width=0.6)
        ax.set_xticks(xs, labels)
        for x, score in zip(xs, effect.scores, strict=True):
            if score is None:
                ax.text(x, 0, "failed", ha="center", va="bottom", color="#b00", fontsize=8)
    else:
        xs = [float(v) for v in effect.values]
        ys = [math.nan if s is None else s for s in effect.scores]
        many = len(xs) > 12
        ax.plot(xs, ys, "-o" if not many else "o", color="#1f77b4", markersize=5)
        if effect.scale in ("log", "symlog"):
            positive = [x for x in xs if x > 0]
            kwargs = {"linthresh": min(positive)} if effect.scale == "symlog" else {}
            ax.set_xscale(effect.scale, **kwargs)
        if not many:
            ax.xaxis.set_major_locator(FixedLocator(xs))
            ax.xaxis.set_minor_locator(NullLocator())
            ax.set_xticklabels(labels)
        failed = [x for x, s in zip(xs, effect.scores, strict=True) if s is None]
        if failed:
            ax.plot(
                failed,
                [min(finite)] * len(failed),
                "x",
                color="#b00",
                markersize=9,
                label="all its configs failed",
            )
            ax.legend(loc="lower right", fontsize=8)
    # The best of a minimized metric is the lowest point: its label goes below it.
    below = best is not None and effect.scale != "categorical" and min(finite) < max(finite)
    below = below and effect.scores[best] == min(finite)
    _zoom(ax, finite, room_on_top=0.0 if below else 0.35, room_below=0.35 if below else 0.0)
    ax.margins(x=0.08)
    if (effect.scale == "categorical" or len(effect.values) <= 12) and _crowded(labels, 44):
        for tick in ax.get_xticklabels():
            tick.set_rotation(35)
            tick.set_ha("right")
    if best is not None:
        x = best if effect.scale == "categorical" else float(effect.values[best])
        score = effect.scores[best]
        ax.plot([x], [score], linestyle="none", **STAR, zorder=5)
        position = best / max(len(effect.values) - 1, 1)
        align = "left" if position < 0.25 else "right" if position > 0.75 else "center"
        ax.annotate(
            f"best: {value_label(effect.values[best], 20, digits=4)} ({score:.4f})",
            (x, score),
            xytext=(0, -13 if below else 11),
            textcoords="offset points",
            ha=align,
            va="top" if below else "baseline",
            fontsize=9,
            fontweight="bold",
        )


def plot_effect(effect: Effect, metric: str, path: Path) -> Path:
    figure = Figure(figsize=(5.6, 4.0))
    draw_effect(figure.add_subplot(), effect, metric)
    figure.tight_layout()
    return _save(figure, path)


def plot_overview(effects: Sequence[Effect], metric: str, path: Path) -> Path:
    columns = min(3, len(effects))
    rows = math.ceil(len(effects) / columns)
    figure = Figure(figsize=(4.8 * columns, 3.7 * rows + 0.5), layout="constrained")
    for index, effect in enumerate(effects):
        draw_effect(figure.add_subplot(rows, columns, index + 1), effect, metric)
    figure.suptitle(f"Best {metric_label(metric)} per value of each swept hyperparameter")
    return _save(figure, path)


def plot_studies(
    effects: Sequence[Effect], metric: str, goal: str, studies: bool, path: Path
) -> Path:
    """Horizontal bars from the worst to the best value's score per hyperparameter.

    The best value and its score are the right-hand tick labels, so no text sits on a bar.
    """
    scored = [e for e in effects if e.best_score is not None]
    sign = 1.0 if goal == "maximize" else -1.0
    scored.sort(key=lambda e: (sign * e.best_score, e.spread))  # best (then widest) on top
    figure = Figure(figsize=(8.0, 1.6 + 0.45 * len(scored)), layout="constrained")
    ax = figure.add_subplot()
    lows = [min(e.finite_scores) for e in scored]
    highs = [max(e.finite_scores) for e in scored]
    ys = list(range(len(scored)))
    ax.barh(
        ys,
        [h - lo for h, lo in zip(highs, lows, strict=True)],
        left=lows,
        height=0.5,
        color="#7aa6d6",
        edgecolor="#333",
        linewidth=0.6,
        label="worst to best value",
    )
    ax.plot([e.best_score for e in scored], ys, linestyle="none", **STAR, label="best value")
    ax.set_yticks(ys, [e.name for e in scored])
    ax.set_ylim(-0.6, len(scored) - 0.4)
    right = ax.twinx()
    right.set_ylim(ax.get_ylim())
    right.set_yticks(
        ys,
        [
            f"{value_label(e.values[e.best_index], 16, digits=4)}: {e.best_score:.4f}"
            for e in scored
        ],
        fontsize=9,
    )
    right.tick_params(length=0)
    right.set_ylabel("best value: score")
    low, high = min(lows), max(highs)
    pad = max(high - low, abs(high) * 0.02, 1e-3)
    ax.set_xlim(low - 0.08 * pad, high + 0.08 * pad)
    ax.set_xlabel(f"best {metric_label(metric)}")
    ax.grid(True, axis="x", alpha=0.3)
    where = "in each hyperparameter's study" if studies else "per hyperparameter"
    ax.set_title(f"Best {metric_label(metric)} {where}")
    figure.legend(loc="outside lower center", ncols=2, fontsize=8, frameon=False)
    return _save(figure, path)


def curve_panels(task: Task) -> tuple[tuple[str, str], ...]:
    """The learning-curve panels (record key, title): the losses, the train accuracy (titled
    with what it counts, outside classify) and the task's main validation accuracy."""
    train = "train accuracy" if task.name == "classify" else f"train accuracy ({task.summary})"
    return (
        ("train_loss", "train loss"),
        ("val_loss", "val loss"),
        ("train_accuracy", train),
        (task.default_metric, metric_label(task.default_metric)),
    )


def _finite(value: Any) -> float:
    return float(value) if is_number(value) and math.isfinite(value) else math.nan


def plot_learning_curves(
    records: Sequence[dict], labels: Sequence[str], path: Path, task: Task = TASKS["classify"]
) -> Path:
    """Train/val loss and accuracy per epoch; the best epoch of each config starred."""
    figure = Figure(figsize=(10, 7.2), layout="constrained")
    axes = figure.subplots(2, 2, sharex=True)
    for (name, title), ax in zip(curve_panels(task), axes.flat, strict=True):
        for index, record in enumerate(records):
            history = record.get("history") or []
            epochs = [h["epoch"] for h in history]
            values = [_finite(h.get(name)) for h in history]
            color = COLORS[index % len(COLORS)]
            ax.plot(epochs, values, "-o", color=color, markersize=3, label=labels[index])
            best = next((h for h in history if h["epoch"] == record.get("best_epoch")), None)
            if best is not None and name.startswith("val"):
                ax.plot(
                    [best["epoch"]],
                    [_finite(best.get(name))],
                    linestyle="none",
                    **{**STAR, "markersize": 12, "color": color},
                )
        ax.set_title(title)
        ax.set_ylabel(title)
        ax.grid(True, alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
    for ax in axes[1]:
        ax.set_xlabel("epoch")
    handles, texts = axes[0, 0].get_legend_handles_labels()
    figure.legend(
        handles,
        texts,
        loc="outside lower center",
        ncols=1,
        fontsize=9,
        title="rank: trial (what sets it apart); ★ marks the best epoch",
    )
    figure.suptitle("Learning curves of the top configs")
    return _save(figure, path)


def plot_cell_types(
    cells: Sequence[str], matches: Sequence[CellMatch], metric: str, path: Path, limit: int = 12
) -> Path:
    """Grouped horizontal bars: a row per matched group (best on top), a bar per cell type.

    Horizontal, so the group labels (the values of the other swept hyperparameters) stay
    on one readable line however many groups there are.
    """
    shown = list(matches[:limit])
    names = differing(shown)  # the values all groups share go in the caption, not the labels
    labels = [", ".join(f"{n}={value_label(m.shared[n], 10)}" for n in names) for m in shown]
    row = 0.8 / len(cells)
    figure = Figure(
        figsize=(9.0, 1.9 + len(shown) * (0.2 * len(cells) + 0.25)), layout="constrained"
    )
    ax = figure.add_subplot()
    placed = []
    for c, cell in enumerate(cells):
        ys = [g + (c - (len(cells) - 1) / 2) * row for g in range(len(shown))]
        widths = [m.scores[cell] if m.scores[cell] is not None else 0.0 for m in shown]
        ax.barh(
            ys,
            widths,
            height=row * 0.92,
            color=COLORS[c % len(COLORS)],
            label=cell,
            edgecolor="#333",
            linewidth=0.5,
        )
        placed += [(y, m, cell) for y, m in zip(ys, shown, strict=True)]
    scores = [m.scores[c] for _, m, c in placed if m.scores[c] is not None]
    if scores:
        low, high = min(scores), max(scores)
        pad = max(high - low, abs(high) * 0.02, 1e-3)
        ax.set_xlim(max(low - 0.6 * pad, 0.0) if low >= 0 else low - 0.6 * pad, high + 0.3 * pad)
    left = ax.get_xlim()[0]
    for y, match, cell in placed:
        score = match.scores[cell]
        text = "none" if not match.trials[cell] else "failed" if score is None else f"{score:.3f}"
        ax.annotate(
            text,
            (left if score is None else score, y),
            xytext=(3, 0),
            textcoords="offset points",
            va="center",
            fontsize=7,
        )
    ax.set_yticks(range(len(shown)), labels if names else [], fontsize=8)
    ax.set_ylim(len(shown) - 0.5, -0.5)  # the best group on top
    common = [f"{n}={value_label(v, 12)}" for n, v in shown[0].shared.items() if n not in names]
    caption = f"best {metric_label(metric)} (every other swept hyperparameter equal in a row)"
    if common:
        caption += "; all rows have " + ", ".join(common)
    ax.set_xlabel("\n".join(textwrap.wrap(caption, 100)), fontsize=9)
    more = f" (best {len(shown)} of {len(matches)} groups)" if len(matches) > len(shown) else ""
    ax.set_title(f"Cell types on matched configs{more}")
    ax.grid(True, axis="x", alpha=0.3)
    figure.legend(title="architecture", loc="outside right upper", fontsize=8)
    return _save(figure, path)


def plot_tuning_iterations(entries: Sequence[dict], metric: str, path: Path) -> Path:
    """A greedy search's path: the current config's metric after each iteration (line),
    every value tried as a dot, adopted values labelled."""
    figure = Figure(figsize=(max(6.5, 1.3 * len(entries) + 2), 4.6), layout="constrained")
    ax = figure.subplots()
    xs = list(range(len(entries)))
    scores = [_finite(e.get("score")) for e in entries]
    tried = [
        (x, _finite(score))
        for x, e in enumerate(entries)
        for score in e.get("scores", [e.get("score")])
    ]
    ax.plot(
        [x for x, _ in tried],
        [s for _, s in tried],
        "o",
        color="#9ab8d8",
        markersize=6,
        label="a value tried in the iteration",
    )
    ax.plot(xs, scores, "-o", color=COLORS[0], linewidth=2, label="current config after it")
    for x, e in enumerate(entries[1:], start=1):
        if e["adopted"]:
            ax.plot([x], [scores[x]], linestyle="none", **STAR)
            ax.annotate(
                f"{e['hparam']}={value_label(e['value'])}",
                (x, scores[x]),
                textcoords="offset points",
                xytext=(0, 12),
                ha="center",
                fontsize=9,
                fontweight="bold",
            )
    labels = ["baseline"] + [
        "\n".join(textwrap.wrap(f"{e['iteration']}: {e['hparam']}", 14)) for e in entries[1:]
    ]
    ax.xaxis.set_major_locator(FixedLocator(xs))
    ax.set_xticklabels(labels, fontsize=9)
    ax.set_xlim(-0.5, len(entries) - 0.5)
    finite = [s for _, s in tried if math.isfinite(s)]
    if finite:
        _zoom(ax, finite, room_on_top=0.5)
    ax.set_xlabel("tuning iteration")
    ax.set_ylabel(metric_label(metric))
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(loc="best", fontsize=9)
    ax.set_title(f"{metric_label(metric)} across tuning iterations (★ a value adopted)")
    return _save(figure, path)


def plot_schedules(
    records: Sequence[dict], schedules: Sequence[dict[str, list]], metric: str, path: Path
) -> Path:
    """One panel per perturbed hyperparameter (its value at each evaluation) and one of the
    metric, a line per config; schedules: each config's values per evaluation, by name."""
    names = list(schedules[0])
    figure = Figure(figsize=(10, 3.2 * (len(names) + 1)), layout="constrained")
    axes = figure.subplots(len(names) + 1, 1, sharex=True, squeeze=False)[:, 0]
    for index, record in enumerate(records):
        color = COLORS[index % len(COLORS)]
        label = f"#{index + 1}: trial {record['trial_id']}"
        history = record.get("history") or []
        epochs = [h["epoch"] for h in history]
        for ax, name in zip(axes, names, strict=False):
            # The value epoch e trained with spans (e - 1, e]: from one evaluation to the next.
            values = [_finite(v) for v in schedules[index][name]]
            ax.stairs(values, range(len(values) + 1), color=color, baseline=None)
            ax.set_ylabel(name)
        axes[-1].plot(
            epochs,
            [_finite(h.get(metric)) for h in history],
            "-o",
            color=color,
            markersize=3,
            label=label,
        )
    for ax in axes:
        ax.grid(True, alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
    axes[-1].set_ylabel(metric_label(metric))
    axes[-1].set_xlabel("evaluation")
    axes[-1].legend(fontsize=9)
    figure.suptitle("Hyperparameter schedules under population-based training")
    return _save(figure, path)
