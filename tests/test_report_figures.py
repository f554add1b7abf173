"""report/figures.py: what each figure draws (bars, lines, the starred best) and the PNGs."""

import math

import matplotlib
import matplotlib.colors
import matplotlib.ticker
import numpy as np
import pytest
from matplotlib.figure import Figure

from jaxtune.report import figures
from jaxtune.report.analysis import CellMatch, Effect

matplotlib.use("Agg")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def capture(monkeypatch, write):
    saved = []
    save = figures._save

    def keep(figure, path):
        saved.append((figure, path))
        return save(figure, path) if write else path

    monkeypatch.setattr(figures, "_save", keep)
    return saved


@pytest.fixture
def drawn(monkeypatch):
    """The figures the module saves, in order, as (figure, path); no PNG is written (fast)."""
    return capture(monkeypatch, write=False)


@pytest.fixture
def written(monkeypatch):
    """As `drawn`, and each PNG is written."""
    return capture(monkeypatch, write=True)


def effect(name, values, scores, best, scale, study=False):
    finite = [s for s in scores if s is not None]
    spread = max(finite) - min(finite) if len(finite) >= 2 else None
    counts = [1] * len(values)
    return Effect(name, values, scores, counts, best, spread, scale, study)


def axes():
    return Figure().add_subplot()


def stars(ax):
    return [line for line in ax.get_lines() if line.get_marker() == "*"]


def star_points(ax):
    return [(float(s.get_xdata()[0]), float(s.get_ydata()[0])) for s in stars(ax)]


def tick_texts(labels):
    return [t.get_text() for t in labels]


def test_metric_label_names_known_metrics_and_passes_others_through():
    assert figures.metric_label("val_macro_f1") == "val macro-F1"
    assert figures.metric_label("train_loss") == "train loss"
    assert figures.metric_label("test_accuracy") == "test_accuracy"


def test_categorical_effect_is_bars_with_the_best_bar_gold_and_starred():
    ax = axes()
    found = effect(
        "optimizer",
        ["adam", "sgd", "rmsprop"],
        [0.8, None, 0.9],
        "rmsprop",
        "categorical",
        study=True,
    )
    figures.draw_effect(ax, found, "val_accuracy")
    assert ax.get_title() == "optimizer (its study)"
    assert ax.get_ylabel() == "best val accuracy"
    bars = ax.patches
    assert [b.get_height() for b in bars] == [0.8, 0.0, 0.9]  # a failed value: an empty bar
    gold = matplotlib.colors.to_rgba("#f2b01e")
    assert [b.get_facecolor() == gold for b in bars] == [False, False, True]
    assert tick_texts(ax.get_xticklabels()) == ["adam", "sgd", "rmsprop"]
    assert star_points(ax) == [(2.0, 0.9)]
    texts = {t.get_text(): t for t in ax.texts}
    assert texts["failed"].get_position() == (1, 0)
    assert "best: rmsprop (0.9000)" in texts
    low, high = ax.get_ylim()
    assert low < 0.8 and high > 0.9


def test_log_effect_is_a_line_over_the_values_with_failed_values_crossed():
    ax = axes()
    values, scores = [1e-4, 1e-3, 1e-2], [0.7, None, 0.9]
    figures.draw_effect(ax, effect("learning_rate", values, scores, 1e-2, "log"), "val_accuracy")
    assert ax.get_title() == "learning_rate" and ax.get_xscale() == "log"
    curve = ax.get_lines()[0]
    np.testing.assert_array_equal(curve.get_xdata(), values)
    np.testing.assert_array_equal(curve.get_ydata(), [0.7, math.nan, 0.9])
    [crossed] = [line for line in ax.get_lines() if line.get_marker() == "x"]
    assert list(crossed.get_xdata()) == [1e-3] and list(crossed.get_ydata()) == [0.7]
    assert tick_texts(ax.get_legend().get_texts()) == ["all its configs failed"]
    np.testing.assert_allclose(ax.get_xticks(), values)
    assert tick_texts(ax.get_xticklabels()) == ["0.0001", "0.001", "0.01"]
    assert star_points(ax) == [(1e-2, 0.9)]
    [label] = ax.texts
    assert label.get_text() == "best: 0.01 (0.9000)"
    assert label.xyann == (0, 11) and label.get_va() == "baseline"  # above the best point
    assert label.get_ha() == "right"  # the last value: the label runs leftwards
    low, high = ax.get_ylim()
    assert low < 0.7 and high > 0.9


def test_a_minimized_best_is_labelled_below_its_point():
    ax = axes()
    found = effect("dropout", [0.0, 0.2, 0.4], [0.5, 0.3, 0.6], 0.2, "linear")
    figures.draw_effect(ax, found, "val_loss")
    assert ax.get_xscale() == "linear"
    assert star_points(ax) == [(0.2, 0.3)]
    [label] = ax.texts
    assert label.xyann == (0, -13) and label.get_va() == "top"
    assert label.get_ha() == "center"
    low, high = ax.get_ylim()
    assert low < 0.3 and high > 0.6
    assert 0.3 - low > high - 0.6  # the room for the label is below the lowest point


def test_a_ladder_with_zero_uses_a_symlog_axis_linear_below_its_smallest_step():
    ax = axes()
    found = effect("weight_decay", [0.0, 1e-4, 1e-2], [0.8, 0.85, 0.7], 1e-4, "symlog")
    figures.draw_effect(ax, found, "val_accuracy")
    assert ax.get_xscale() == "symlog"
    assert ax.xaxis.get_transform().linthresh == 1e-4
    assert star_points(ax) == [(1e-4, 0.85)]


def test_more_than_twelve_values_are_plotted_as_points_with_automatic_ticks():
    values = [float(v) for v in range(1, 14)]
    scores = [0.5 + 0.01 * v for v in values]
    ax = axes()
    figures.draw_effect(ax, effect("warmup_steps", values, scores, 13.0, "linear"), "val_accuracy")
    curve = ax.get_lines()[0]
    assert curve.get_linestyle() == "None" and curve.get_marker() == "o"
    assert not isinstance(ax.xaxis.get_major_locator(), matplotlib.ticker.FixedLocator)
    assert star_points(ax) == [(13.0, scores[-1])]


def test_an_effect_with_no_finished_config_says_so_and_draws_nothing():
    ax = axes()
    found = effect("dropout", [0.0, 0.5], [None, None], None, "linear")
    figures.draw_effect(ax, found, "val_accuracy")
    assert [t.get_text() for t in ax.texts] == ["no config finished"]
    assert ax.get_lines() == [] and len(ax.patches) == 0
    assert list(ax.get_xticks()) == []


def test_plot_effect_writes_one_png_creating_its_folder(tmp_path, written):
    path = tmp_path / "figures" / "hparam_dropout.png"
    found = effect("dropout", [0.0, 0.5], [0.7, 0.8], 0.5, "linear")
    assert figures.plot_effect(found, "val_accuracy", path) == path
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    [(figure, saved_path)] = written
    assert saved_path == path
    [ax] = figure.axes
    assert ax.get_title() == "dropout" and star_points(ax) == [(0.5, 0.8)]


def test_plot_overview_draws_one_panel_per_effect_three_to_a_row(tmp_path, drawn):
    found = [effect(f"p{i}", [0.0, 1.0], [0.5, 0.6 + i / 100], 1.0, "linear") for i in range(4)]
    path = figures.plot_overview(found, "val_macro_f1", tmp_path / "overview.png")
    assert path == tmp_path / "overview.png"
    [(figure, _)] = drawn
    assert [ax.get_title() for ax in figure.axes] == ["p0", "p1", "p2", "p3"]
    assert [ax.get_subplotspec().get_geometry()[:2] for ax in figure.axes] == [(2, 3)] * 4
    assert figure.get_suptitle() == "Best val macro-F1 per value of each swept hyperparameter"
    assert [star_points(ax) for ax in figure.axes] == [[(1.0, 0.6 + i / 100)] for i in range(4)]


@pytest.mark.parametrize("goal", ["maximize", "minimize"])
def test_plot_studies_spans_worst_to_best_with_the_best_hyperparameter_on_top(
    tmp_path, drawn, goal
):
    wide = effect("learning_rate", [1e-4, 1e-3, 1e-2], [0.5, 0.9, 0.7], 1e-3, "log")
    narrow = effect("dropout", [0.0, 0.5], [0.95, 0.94], 0.0, "linear")
    failed = effect("hidden_size", [32, 64], [None, None], None, "linear")  # left out
    figures.plot_studies([wide, narrow, failed], "val_accuracy", goal, True, tmp_path / "s.png")
    [(figure, _)] = drawn
    ax, right = figure.axes
    bottom_up = [narrow, wide] if goal == "minimize" else [wide, narrow]  # best on top
    assert tick_texts(ax.get_yticklabels()) == [e.name for e in bottom_up]
    bars = ax.patches
    assert [b.get_x() for b in bars] == [min(e.finite_scores) for e in bottom_up]
    assert [b.get_width() for b in bars] == pytest.approx(
        [max(e.finite_scores) - min(e.finite_scores) for e in bottom_up]
    )
    [star] = stars(ax)
    assert list(star.get_xdata()) == [e.best_score for e in bottom_up]
    assert list(star.get_ydata()) == [0, 1]
    expected = {"learning_rate": "0.001: 0.9000", "dropout": "0: 0.9500"}
    assert tick_texts(right.get_yticklabels()) == [expected[e.name] for e in bottom_up]
    assert ax.get_title() == "Best val accuracy in each hyperparameter's study"


def history(epochs, val_loss, val_accuracy):
    return [
        {
            "epoch": e,
            "train_loss": 1.0 / e,
            "train_accuracy": 0.5 + 0.1 * e,
            "val_loss": loss,
            "val_accuracy": accuracy,
        }
        for e, loss, accuracy in zip(epochs, val_loss, val_accuracy, strict=True)
    ]


def test_learning_curves_draw_each_config_and_star_its_best_epoch(tmp_path, drawn):
    records = [
        {"best_epoch": 2, "history": history([1, 2, 3], [0.6, 0.4, 0.5], [0.7, 0.8, 0.75])},
        {"best_epoch": 1, "history": history([1, 2], [0.7, math.nan], [0.6, None])},
    ]
    labels = ["#1: trial 4", "#2: trial 0"]
    figures.plot_learning_curves(records, labels, tmp_path / "curves.png")
    [(figure, _)] = drawn
    panels = {ax.get_title(): ax for ax in figure.axes}
    assert set(panels) == {"train loss", "val loss", "train accuracy", "val accuracy"}
    val_loss = panels["val loss"]
    curves = [line for line in val_loss.get_lines() if line.get_marker() == "o"]
    assert [list(c.get_xdata()) for c in curves] == [[1, 2, 3], [1, 2]]
    np.testing.assert_array_equal(curves[1].get_ydata(), [0.7, math.nan])
    assert star_points(val_loss) == [(2.0, 0.4), (1.0, 0.7)]
    assert star_points(panels["val accuracy"]) == [(2.0, 0.8), (1.0, 0.6)]
    np.testing.assert_array_equal(
        [line for line in panels["val accuracy"].get_lines() if line.get_marker() == "o"][
            1
        ].get_ydata(),
        [0.6, math.nan],  # a missing value is a gap
    )
    assert stars(panels["train loss"]) == [] and stars(panels["train accuracy"]) == []
    [legend] = figure.legends
    assert tick_texts(legend.get_texts()) == labels


def test_cell_types_draw_a_bar_per_cell_type_per_group_best_group_on_top(tmp_path, drawn):
    cells = ["gru", "cnn"]
    matches = [
        CellMatch(
            {"learning_rate": 1e-3, "dropout": 0.1},
            {"gru": 0.9, "cnn": 0.8},
            {"gru": [0], "cnn": [1]},
        ),
        CellMatch(
            {"learning_rate": 1e-2, "dropout": 0.1},
            {"gru": None, "cnn": 0.7},
            {"gru": [2], "cnn": [3]},
        ),
        CellMatch(
            {"learning_rate": 1e-4, "dropout": 0.1},
            {"gru": 0.6, "cnn": None},
            {"gru": [4], "cnn": []},
        ),
    ]
    figures.plot_cell_types(cells, matches, "val_accuracy", tmp_path / "c.png", limit=2)
    [(figure, _)] = drawn
    [ax] = figure.axes
    bars = ax.patches
    assert [b.get_width() for b in bars] == [0.9, 0.0, 0.8, 0.7]  # gru's, then cnn's
    assert [t.get_text() for t in ax.texts] == ["0.900", "failed", "0.800", "0.700"]
    assert tick_texts(ax.get_yticklabels()) == ["learning_rate=0.001", "learning_rate=0.01"]
    bottom, top = ax.get_ylim()
    assert bottom > top  # inverted: the first (best) group on top
    assert ax.get_title() == "Cell types on matched configs (best 2 of 3 groups)"
    assert "all rows have dropout=0.1" in ax.get_xlabel().replace("\n", " ")
    assert [t.get_text() for t in figure.legends[0].get_texts()] == cells


def test_cell_types_mark_a_cell_type_without_configs_in_a_group(tmp_path, drawn):
    cells = ["gru", "cnn"]
    matches = [CellMatch({"dropout": 0.1}, {"gru": 0.6, "cnn": None}, {"gru": [4], "cnn": []})]
    figures.plot_cell_types(cells, matches, "val_accuracy", tmp_path / "c.png")
    [(figure, _)] = drawn
    [ax] = figure.axes
    assert [t.get_text() for t in ax.texts] == ["0.600", "none"]
    assert ax.get_title() == "Cell types on matched configs"


def test_tuning_iterations_draw_the_path_every_value_tried_and_star_adoptions(tmp_path, written):
    entries = [
        {"iteration": 0, "hparam": None, "trial_id": 0, "score": 0.70},
        {
            "iteration": 1,
            "hparam": "dropout",
            "values": [0.0, 0.5],
            "scores": [0.70, 0.80],
            "best_value": 0.5,
            "adopted": True,
            "value": 0.5,
            "score": 0.80,
        },
        {
            "iteration": 2,
            "hparam": "optimizer",
            "values": ["adam", "sgd"],
            "scores": [0.80, None],
            "best_value": "adam",
            "adopted": False,
            "value": "adam",
            "score": 0.80,
        },
    ]
    path = figures.plot_tuning_iterations(entries, "val_accuracy", tmp_path / "g.png")
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    [(figure, _)] = written
    [ax] = figure.axes
    dots, current = ax.get_lines()[:2]
    assert list(dots.get_xdata()) == [0, 1, 1, 2, 2]
    np.testing.assert_array_equal(dots.get_ydata(), [0.70, 0.70, 0.80, 0.80, math.nan])
    assert list(current.get_xdata()) == [0, 1, 2]
    assert list(current.get_ydata()) == [0.70, 0.80, 0.80]
    assert star_points(ax) == [(1.0, 0.80)]  # iteration 2 kept its value: no star
    assert [t.get_text() for t in ax.texts] == ["dropout=0.5"]
    assert tick_texts(ax.get_xticklabels()) == ["baseline", "1: dropout", "2: optimizer"]
    assert ax.get_xlim() == (-0.5, 2.5)
    assert ax.get_ylabel() == "val accuracy"
