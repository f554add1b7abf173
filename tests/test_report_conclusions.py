"""report/conclusions.py: cell types side by side, and the recommendations."""

import pytest
import yaml
from support import recorded_calls

from jaxtune.report import conclusions, figures
from jaxtune.report.analysis import Sweep
from jaxtune.report.document import Code, Figure, Heading, Paragraph, Strong, Table
from jaxtune.results import rank


def record(trial_id, score, metric="val_accuracy", **hparams):
    """A results.jsonl record; score None: no finished evaluation."""
    return {
        "trial_id": trial_id,
        "studies": [],
        "status": "failed" if score is None else "completed",
        "hparams": hparams,
        "best": None if score is None else {"epoch": 1, metric: score},
    }


def make_sweep(tmp_path, records, swept, metric="val_accuracy", goal="maximize"):
    return Sweep(tmp_path, "hand", "grid", metric, goal, rank(records, metric, goal), swept)


@pytest.fixture
def plots(monkeypatch):
    """Replaces the cell-type figure: each call recorded with its arguments."""
    return recorded_calls(monkeypatch, figures, "plot_cell_types")


def paragraph_text(block):
    return "".join(r.text if isinstance(r, Strong) else r for r in block.runs)


def test_one_cell_type_has_nothing_to_compare(tmp_path, plots):
    records = [record(0, 0.8, architecture="lstm", dropout=0.0)]
    records.append(record(1, 0.7, architecture="lstm", dropout=0.5))
    blocks = conclusions.cell_types(make_sweep(tmp_path, records, ["dropout"]), tmp_path)
    assert blocks == [
        Heading("Cell types"),
        Paragraph("Only one cell type in this sweep (lstm): nothing to compare."),
    ]
    assert plots == []


def test_unmatched_cell_types_are_named_without_a_comparison(tmp_path, plots):
    records = [
        record(0, 0.8, architecture="lstm", learning_rate=1e-3),
        record(1, 0.7, architecture="gru", learning_rate=1e-2),
    ]
    swept = ["architecture", "learning_rate"]
    _, paragraph = conclusions.cell_types(make_sweep(tmp_path, records, swept), tmp_path)
    assert paragraph_text(paragraph).startswith("Cell types gru, lstm were swept")
    assert plots == []


def matched_records():
    """Three groups on (learning_rate, dropout); hidden_size is ignored by the CNN."""
    hp = {"dropout": 0.1}
    return [
        record(0, 0.90, architecture="gru", learning_rate=1e-3, hidden_size=32, **hp),
        record(1, 0.85, architecture="lstm", learning_rate=1e-3, hidden_size=32, **hp),
        record(2, 0.80, architecture="cnn", learning_rate=1e-3, hidden_size=64, **hp),
        record(3, 0.60, architecture="gru", learning_rate=1e-2, hidden_size=64, **hp),
        record(4, 0.70, architecture="cnn", learning_rate=1e-2, hidden_size=64, **hp),
        record(5, None, architecture="lstm", learning_rate=1e-2, hidden_size=64, **hp),
        record(6, 0.50, architecture="gru", learning_rate=1e-4, hidden_size=32, **hp),
        record(8, 0.55, architecture="cnn", learning_rate=1e-4, hidden_size=64, **hp),
        # Alone in its group (no other cell type at dropout 0.3): not compared.
        record(7, 0.40, architecture="gru", learning_rate=1e-3, hidden_size=32, dropout=0.3),
    ]


SWEPT = ["architecture", "learning_rate", "dropout", "hidden_size"]


def test_cell_types_table_has_a_row_per_matched_group_best_first(tmp_path, plots):
    sweep = make_sweep(tmp_path, matched_records(), SWEPT)
    heading, paragraph, table, figure = conclusions.cell_types(sweep, tmp_path / "figures")
    assert heading == Heading("Cell types")
    # learning_rate differs between the groups (a column); dropout is 0.1 in all (the text).
    assert table.header == ("learning_rate", "gru", "lstm", "cnn", "trials")
    assert table.rows == (
        ("0.001", "0.9000", "0.8500", "0.8000", "gru: 0, lstm: 1, cnn: 2"),
        ("0.01", "0.6000", "failed", "0.7000", "gru: 3, lstm: 5, cnn: 4"),
        ("0.0001", "0.5000", "—", "0.5500", "gru: 6, cnn: 8"),
    )
    assert table.align_right == (False, True, True, True, False)
    text = paragraph_text(paragraph)
    assert text.startswith("3 group(s) of configs of different cell types")
    assert "best val accuracy" in text
    assert "Wins: gru 1 of 3; lstm 0 of 3; cnn 2 of 3." in text
    assert "Every group has dropout=0.1." in text
    assert "Not matched on hidden_size (ignored by one of the cell types)." in text
    [(cells, matches, metric, path)] = plots
    assert cells == ["gru", "lstm", "cnn"] and len(matches) == 3 and metric == "val_accuracy"
    assert figure == Figure(tmp_path / "figures" / "cell_types.png", figure.caption)
    assert path == figure.path


def test_cell_type_wins_of_a_minimized_metric_go_to_the_lowest(tmp_path, plots):
    records = [
        record(0, 0.3, "val_loss", architecture="gru", learning_rate=1e-3),
        record(1, 0.4, "val_loss", architecture="rnn", learning_rate=1e-3),
        record(2, 0.2, "val_loss", architecture="rnn", learning_rate=1e-2),
        record(3, 0.5, "val_loss", architecture="gru", learning_rate=1e-2),
    ]
    sweep = make_sweep(tmp_path, records, ["architecture", "learning_rate"], "val_loss", "minimize")
    _, paragraph, table, _ = conclusions.cell_types(sweep, tmp_path)
    assert "Wins: gru 1 of 2; rnn 1 of 2." in paragraph_text(paragraph)
    assert [row[0] for row in table.rows] == ["0.01", "0.001"]  # 0.2 is the best group
    assert "Every group has" not in paragraph_text(paragraph)


def test_recommendations_without_a_finished_config(tmp_path):
    records = [record(0, None, dropout=0.0), record(1, None, dropout=0.5)]
    assert conclusions.recommendations(make_sweep(tmp_path, records, ["dropout"])) == [
        Heading("Recommendations"),
        Paragraph("No config finished: no recommendation."),
    ]


def test_recommendations_rank_hyperparameters_by_sensitivity(tmp_path):
    records = [
        record(0, 0.90, learning_rate=1e-3, dropout=0.0, optimizer="adam", batch_size=32),
        record(1, 0.60, learning_rate=1e-2, dropout=0.0, optimizer="adam", batch_size=32),
        record(2, 0.80, learning_rate=1e-3, dropout=0.5, optimizer="adam", batch_size=32),
        record(3, 0.80, learning_rate=1e-3, dropout=0.0, optimizer="sgd", batch_size=32),
    ]
    swept = ["optimizer", "dropout", "learning_rate"]
    blocks = conclusions.recommendations(make_sweep(tmp_path, records, swept))
    table = blocks[2]
    assert table.header == ("hyperparameter", "best value", "sensitivity", "values tried")
    # learning_rate spreads 0.3; dropout and optimizer 0.1 each: ties by name.
    assert table.rows == (
        ("learning_rate", Strong("0.001"), "0.3000", "0.001 / 0.01"),
        ("dropout", Strong("0"), "0.1000", "0 / 0.5"),
        ("optimizer", Strong("adam"), "0.1000", "adam / sgd"),
    )


def test_recommended_config_is_the_best_in_full_and_its_non_defaults_as_yaml(tmp_path):
    best = record(3, 0.9, architecture="cnn", filter_sizes=[2, 3], learning_rate=1e-3, dropout=0.25)
    records = [best, record(1, 0.7, architecture="cnn", filter_sizes=[3, 4, 5], dropout=0.0)]
    records[1]["hparams"]["learning_rate"] = 1e-3
    blocks = conclusions.recommendations(make_sweep(tmp_path, records, ["filter_sizes", "dropout"]))
    assert Heading("Recommended final config", 3) in blocks
    intro = blocks[blocks.index(Heading("Recommended final config", 3)) + 1]
    assert intro.runs[0] == "The best config (trial 3) in full; "
    config = [b for b in blocks if isinstance(b, Table)][-1]
    assert config.rows == (
        ("architecture", Strong("cnn")),
        ("filter_sizes", Strong("[2, 3]")),
        ("learning_rate", "0.001"),  # jaxtune's default: not bold
        ("dropout", Strong("0.25")),
    )
    [code] = [b for b in blocks if isinstance(b, Code)]
    assert code.language == "yaml"
    model = yaml.safe_load(code.text)["model"]
    assert model == {"architecture": "cnn", "filter_sizes": [2, 3], "dropout": 0.25}
    assert list(model) == ["architecture", "filter_sizes", "dropout"]  # the config's order
