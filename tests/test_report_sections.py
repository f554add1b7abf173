"""report/sections.py: the summary, ranking, hyperparameter and learning-curve blocks."""

import pytest

from jaxtune.report import figures, sections
from jaxtune.report.analysis import Effect, Sweep
from jaxtune.report.document import Figure, Heading, Paragraph, Strong, Table
from jaxtune.results import rank


def record(trial_id, score, status=None, studies=(), best_epoch=3, **hparams):
    """A results.jsonl record; score None: no finished evaluation."""
    best = None
    if score is not None:
        best = {"epoch": best_epoch, "val_accuracy": score, "val_loss": 1 - score}
    return {
        "trial_id": trial_id,
        "studies": list(studies),
        "status": status or ("failed" if score is None else "completed"),
        "status_reason": "diverged at step 7" if score is None else "ran 3 epochs",
        "hparams": hparams,
        "epochs_run": 3,
        "best_epoch": None if score is None else best_epoch,
        "best": best,
        "history": [],
    }


def make_sweep(tmp_path, records, swept, metric="val_accuracy", goal="maximize"):
    ranked = rank(records, metric, goal)
    return Sweep(tmp_path, "hand", "grid", metric, goal, ranked, swept)


@pytest.fixture
def plots(monkeypatch):
    """Replaces the figures the sections draw: each call recorded as (name, args); keyword
    arguments (the learning curves' task) are not recorded."""
    calls = []

    def stub(name):
        def plot(*args, **_):
            calls.append((name, args))
            return args[-1]  # the path

        return plot

    for name in ("plot_effect", "plot_overview", "plot_studies", "plot_learning_curves"):
        monkeypatch.setattr(figures, name, stub(name))
    return calls


def texts(blocks):
    """Every paragraph's text, runs joined."""
    return [
        "".join(r.text if isinstance(r, Strong) else r for r in b.runs)
        for b in blocks
        if isinstance(b, Paragraph)
    ]


def test_summary_counts_statuses_and_names_the_best_config(tmp_path):
    records = [
        record(0, 0.7, learning_rate=1e-3, dropout=0.0),
        record(1, None, learning_rate=1e-1, dropout=0.0),
        record(2, 0.9, learning_rate=1e-2, dropout=0.0),
        record(3, 0.5, status="pruned", learning_rate=1e-4, dropout=0.0),
    ]
    heading, counts, best = sections.summary(make_sweep(tmp_path, records, ["learning_rate"]))
    assert heading == Heading("Sweep report: hand", 1)
    assert counts.runs[0].endswith("4 configs (2 completed, 1 failed, 1 pruned).")
    assert "; task classify; method grid; metric val_accuracy (maximize)" in counts.runs[0]
    assert best.runs == (
        "Best config: ",
        Strong("trial 2"),
        ", val_accuracy 0.9000 at epoch 3 (learning_rate=0.01).",
    )


def test_summary_of_a_single_config(tmp_path):
    *_, best = sections.summary(make_sweep(tmp_path, [record(5, 0.8, dropout=0.1)], []))
    assert best.runs[1] == Strong("trial 5")
    assert best.runs[2].endswith("(the only config).")


def test_summary_without_a_finished_config_says_there_is_no_best(tmp_path):
    records = [record(0, None, dropout=0.0), record(1, None, dropout=0.5)]
    blocks = sections.summary(make_sweep(tmp_path, records, ["dropout"], "val_loss", "minimize"))
    assert blocks[-1].runs[0] == Strong("No config finished with a finite val_loss")
    assert "all 2 configs failed" in blocks[-1].runs[1]
    assert not any("Best config" in t for t in texts(blocks))


def test_ranking_numbers_only_scored_configs_and_marks_unused_values(tmp_path):
    records = [
        record(0, 0.7, architecture="gru", hidden_size=32),
        record(1, None, architecture="gru", hidden_size=64),
        record(2, 0.9, architecture="cnn", hidden_size=64, best_epoch=2),
    ]
    swept = ["architecture", "hidden_size"]
    _, _, table = sections.ranking(make_sweep(tmp_path, records, swept))
    assert table.header == (
        "rank",
        "trial",
        "architecture",
        "hidden_size",
        "val acc",
        "val loss",
        "macro-F1",
        "best epoch",
        "epochs run",
        "status",
    )
    assert len(table.align_right) == len(table.header)
    assert [table.align_right[i] for i in (2, 3, 4, 9)] == [False, False, True, False]
    assert table.rows == (
        ("1", "2", "cnn", "n/a", "0.9000", f"{1 - 0.9:.4f}", "—", "2", "3", "completed"),
        ("2", "0", "gru", "32", "0.7000", f"{1 - 0.7:.4f}", "—", "3", "3", "completed"),
        ("—", "1", "gru", "64", "—", "—", "—", "—", "3", "FAILED: diverged at step 7"),
    )


def test_hyperparameters_without_a_swept_name_say_nothing_was_swept(tmp_path, plots):
    blocks = sections.hyperparameters(make_sweep(tmp_path, [record(0, 0.8)], []), tmp_path)
    assert texts(blocks) == ["Nothing was swept: every config has the same hyperparameters."]
    assert plots == []


def test_hyperparameters_give_each_swept_name_a_table_and_a_figure(tmp_path, plots):
    records = [
        record(0, 0.7, learning_rate=1e-3, dropout=0.0),
        record(1, 0.9, learning_rate=1e-2, dropout=0.0),
        record(2, 0.8, learning_rate=1e-2, dropout=0.5),
    ]
    figure_dir = tmp_path / "figures"
    sweep = make_sweep(tmp_path, records, ["learning_rate", "dropout"])
    blocks = sections.hyperparameters(sweep, figure_dir)
    assert [b.text for b in blocks if isinstance(b, Heading)] == [
        "Hyperparameters",
        "learning_rate",
        "dropout",
        "Overview",
    ]
    assert "(every other hyperparameter at any value)" in texts(blocks)[0]
    assert [name for name, _ in plots] == [
        "plot_effect",
        "plot_effect",
        "plot_overview",
        "plot_studies",
    ]
    effect_paths = [args[-1] for name, args in plots if name == "plot_effect"]
    assert effect_paths == [
        figure_dir / "hparam_learning_rate.png",
        figure_dir / "hparam_dropout.png",
    ]
    assert [args[0].name for name, args in plots if name == "plot_effect"] == [
        "learning_rate",
        "dropout",
    ]
    _, overview_args = plots[2]
    assert [e.name for e in overview_args[0]] == ["learning_rate", "dropout"]
    _, studies_args = plots[3]
    assert studies_args[1:] == ("val_accuracy", "maximize", False, figure_dir / "studies.png")
    assert [b.path for b in blocks if isinstance(b, Figure)] == [
        *effect_paths,
        figure_dir / "overview.png",
        figure_dir / "studies.png",
    ]
    [lr_table, _] = [b for b in blocks if isinstance(b, Table)]
    assert lr_table.header == ("learning_rate", "best val accuracy", "configs")


def test_hyperparameters_of_one_at_a_time_studies_say_so(tmp_path, plots):
    records = [
        record(0, 0.8, studies=["dropout", "learning_rate"], learning_rate=1e-3, dropout=0.0),
        record(1, 0.9, studies=["dropout"], learning_rate=1e-3, dropout=0.5),
        record(2, 0.7, studies=["learning_rate"], learning_rate=1e-2, dropout=0.0),
    ]
    sweep = make_sweep(tmp_path, records, ["learning_rate", "dropout"])
    blocks = sections.hyperparameters(sweep, tmp_path)
    assert "in its one-at-a-time study" in texts(blocks)[0]
    _, studies_args = plots[-1]
    assert studies_args[3] is True  # plot_studies's `studies`


def test_hyperparameters_of_an_all_failed_sweep_plot_nothing(tmp_path, plots):
    records = [record(0, None, dropout=0.0), record(1, None, dropout=0.5)]
    blocks = sections.hyperparameters(make_sweep(tmp_path, records, ["dropout"]), tmp_path)
    assert "No config finished with any dropout: nothing to plot." in texts(blocks)
    assert plots == []
    assert not any(isinstance(b, Figure) for b in blocks)
    assert "Overview" not in [b.text for b in blocks if isinstance(b, Heading)]


def test_effect_rows_star_the_best_value_and_mark_failed_values():
    effect = Effect(
        "learning_rate", [1e-4, 1e-3, 1e-2], [0.5, None, 0.9], [2, 1, 3], 1e-2, 0.4, "log", False
    )
    assert sections.effect_rows(effect) == [
        ("0.0001", "0.5000", "2"),
        ("0.001", "failed", "1"),
        ("0.01 ★", "0.9000", "3"),
    ]
    table = sections._effect_table(effect, "val loss")
    assert table.header == ("learning_rate", "best val loss", "configs")
    assert [row[0] for row in table.rows] == ["0.0001", "0.001", Strong("0.01 ★")]
    assert table.align_right == (False, True, True)


def test_effect_rows_have_no_star_without_a_best():
    effect = Effect("dropout", [0.0, 0.5], [None, None], [1, 1], None, None, "linear", False)
    assert sections.effect_rows(effect) == [("0", "failed", "1"), ("0.5", "failed", "1")]


def test_learning_curves_show_the_top_configs_labelled_by_what_differs(tmp_path, plots):
    records = [
        record(i, 0.5 + 0.05 * i, learning_rate=1e-3 if i % 2 else 1e-2, dropout=0.0)
        for i in range(7)
    ]
    records[0]["hparams"]["dropout"] = 0.5  # the worst config: not in the top 5
    records.append(record(7, None, learning_rate=1e-3, dropout=0.0))
    sweep = make_sweep(tmp_path, records, ["learning_rate", "dropout"])
    heading, figure = sections.learning_curves(sweep, tmp_path / "figures")
    assert heading == Heading("Learning curves")
    [(name, (top, labels, path))] = plots
    assert name == "plot_learning_curves" and path == tmp_path / "figures" / "learning_curves.png"
    assert [r["trial_id"] for r in top] == [6, 5, 4, 3, 2]
    assert labels[0] == "#1: trial 6 (learning_rate=0.01)"  # dropout is 0 in every one
    assert labels[1] == "#2: trial 5 (learning_rate=0.001)"
    assert len(labels) == 5
    assert figure.path == path and "top 5 configs" in figure.caption


def test_learning_curves_without_a_finished_config_draw_nothing(tmp_path, plots):
    sweep = make_sweep(tmp_path, [record(0, None, dropout=0.0)], ["dropout"])
    blocks = sections.learning_curves(sweep, tmp_path)
    assert texts(blocks) == ["No config has a finite metric: no curves to compare."]
    assert plots == []


def test_learning_curves_of_identical_configs_are_labelled_by_trial_only(tmp_path, plots):
    records = [record(0, 0.8, dropout=0.0), record(1, 0.7, dropout=0.0)]
    sections.learning_curves(make_sweep(tmp_path, records, ["dropout"]), tmp_path)
    [(_, (_, labels, _))] = plots
    assert labels == ["#1: trial 0", "#2: trial 1"]
