"""report/tuning.py: the "Tuning iterations" section of a greedy sweep."""

import json

import pytest
from support import recorded_calls

from jaxtune.layout import GREEDY_FILE
from jaxtune.report import figures, tuning
from jaxtune.report.analysis import ReportError, Sweep
from jaxtune.report.document import Figure, Heading, Paragraph, Strong, Table

BASELINE = {"iteration": 0, "hparam": None, "trial_id": 0, "score": 0.7}


def iteration(number, hparam, values, best_value, adopted, score, trial_id):
    return {
        "iteration": number,
        "hparam": hparam,
        "trial_ids": [trial_id],
        "values": values,
        "scores": [score] * len(values),
        "best_value": best_value,
        "adopted": adopted,
        "value": best_value,
        "score": score,
        "trial_id": trial_id,
    }


PATH = [
    BASELINE,
    iteration(1, "learning_rate", [1e-4, 1e-3, 1e-2], 1e-2, True, 0.8, 3),
    iteration(2, "hidden_size", [[64, 32], 64], 64, False, 0.8, 3),
    iteration(3, "dropout", [0.0, 0.5], 0.5, True, 0.85, 6),
]


def make_sweep(tmp_path, path=None, metric="val_accuracy"):
    if path is not None:
        (tmp_path / GREEDY_FILE).write_text(json.dumps(path))
    return Sweep(tmp_path, "hand", "greedy", metric, "maximize", [], [])


@pytest.fixture
def plots(monkeypatch):
    """Replaces the iterations figure: each call recorded with its arguments."""
    return recorded_calls(monkeypatch, figures, "plot_tuning_iterations")


def test_greedy_path_is_none_for_other_sweeps(tmp_path):
    assert tuning.greedy_path(make_sweep(tmp_path)) is None


def test_greedy_path_reads_the_iterations(tmp_path):
    assert tuning.greedy_path(make_sweep(tmp_path, PATH)) == PATH


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"iterations": []}, "expected a JSON list, found dict"),
        ([BASELINE, 3], "expected a list of iterations"),
    ],
)
def test_greedy_path_rejects_a_file_that_is_not_a_list_of_iterations(tmp_path, document, message):
    sweep = make_sweep(tmp_path, document)
    with pytest.raises(ReportError, match=message) as error:
        tuning.greedy_path(sweep)
    assert str(error.value).startswith(f"{tmp_path / GREEDY_FILE}: ")


def test_no_section_without_greedy_iterations(tmp_path, plots):
    assert tuning.tuning_iterations(make_sweep(tmp_path), tmp_path) == []
    assert tuning.tuning_iterations(make_sweep(tmp_path, []), tmp_path) == []
    assert plots == []


def test_tuning_iterations_summarise_table_and_draw_the_path(tmp_path, plots):
    figure_dir = tmp_path / "figures"
    heading, summary, figure, table = tuning.tuning_iterations(
        make_sweep(tmp_path, PATH), figure_dir
    )
    assert heading == Heading("Tuning iterations")
    [text] = summary.runs
    assert "from the baseline (val_accuracy 0.7000)" in text
    assert "2 of 3 iterations adopted a new value, ending at 0.8500 (trial 6)." in text
    assert plots == [(PATH, "val_accuracy", figure_dir / tuning.FIGURE)]
    assert figure == Figure(figure_dir / "greedy_iterations.png", figure.caption)
    assert figure.caption.startswith("val accuracy of the current config after each iteration")
    assert table == Table(
        ("iteration", "hyperparameter", "values tried", "best value", "", "val_accuracy"),
        (
            ("0", "baseline", "", "", "", "0.7000"),
            ("1", "learning_rate", "0.0001, 0.001, 0.01", "0.01", Strong("adopted"), "0.8000"),
            ("2", "hidden_size", "[64, 32], 64", "64", "kept", "0.8000"),
            ("3", "dropout", "0, 0.5", "0.5", Strong("adopted"), "0.8500"),
        ),
        (True, False, False, False, False, True),
    )


def test_a_greedy_sweep_with_only_its_baseline_has_no_figure(tmp_path, plots):
    blocks = tuning.tuning_iterations(make_sweep(tmp_path, [BASELINE], "val_loss"), tmp_path)
    assert [type(b) for b in blocks] == [Heading, Paragraph, Table]
    assert "0 of 0 iterations adopted" in blocks[1].runs[0]
    assert blocks[2].rows == (("0", "baseline", "", "", "", "0.7000"),)
    assert blocks[2].header[-1] == "val_loss"
    assert plots == []
