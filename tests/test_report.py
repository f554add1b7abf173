"""`jaxtune report`: one ranking row per config, valid PNGs, a self-contained HTML file."""

import base64
import json
import math
import re

import matplotlib.image
import pytest
import yaml
from PIL import Image
from typer.testing import CliRunner

from jaxtune.cli import app
from jaxtune.report import write_report
from jaxtune.report.analysis import axis_scale, cell_matches, effects, load_sweep
from jaxtune.report.sections import effect_rows
from jaxtune.results import write_results
from jaxtune.space import HPARAMS

runner = CliRunner()
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DEFAULTS = {
    n: list(h.default) if isinstance(h.default, tuple) else h.default for n, h in HPARAMS.items()
}


def record(trial_id, accuracy, status=None, studies=(), epochs=3, **hparams):
    """A results.jsonl record as engine.py writes it; accuracy None: a config that diverged."""
    failed = accuracy is None or (isinstance(accuracy, float) and math.isnan(accuracy))
    history = []
    for epoch in range(1, epochs + 1):
        value = math.nan if failed else accuracy - 0.1 * (epochs - epoch)
        history.append(
            {
                "epoch": epoch,
                "learning_rate": hparams.get("learning_rate", 1e-3),
                "train_loss": math.nan if failed else 1.0 / epoch,
                "train_accuracy": math.nan if failed else value + 0.02,
                "val_loss": math.nan if failed else 1.2 - value,
                "val_accuracy": value,
                "val_macro_f1": math.nan if failed else value - 0.01,
                "val_per_class_accuracy": [value, value],
            }
        )
    status = status or ("failed" if failed else "completed")
    reasons = {
        "failed": "diverged at step 7 (epoch 1): loss or parameters non-finite",
        "pruned": "pruned at rung 1: below the median",
        "completed": f"ran {epochs} epochs; best val_loss at epoch {epochs}",
        "stopped": "early stopping after epoch 3",
    }
    return {
        "trial_id": trial_id,
        "group": 0,
        "studies": list(studies),
        "status": status,
        "status_reason": reasons[status],
        "hparams": {**DEFAULTS, "epochs": epochs, **hparams},
        "epochs_run": len(history),
        "best_epoch": None if failed else epochs,
        "best": None if accuracy is None else dict(history[-1]),
        "failed_step": 7 if status == "failed" else None,
        "history": history,
    }


def sweep_dir(path, records, parameters, name="hand"):
    path.mkdir(parents=True, exist_ok=True)
    spec = {"name": name, "parameters": {n: {"values": v} for n, v in parameters.items()}}
    (path / "spec.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    write_results(path, records)
    return path


GRID = {
    "architecture": ["gru", "cnn"],
    "learning_rate": [1e-4, 1e-3, 1e-2],
    "filter_sizes": [[3, 4, 5], [2, 3]],
}


def grid_records():
    """GRU and CNN x a learning-rate ladder x list-valued filter_sizes (CNN only, as the
    engine resets a value a cell type ignores): one failed, one NaN, one pruned."""
    accuracy = {1e-4: 0.70, 1e-3: 0.90, 1e-2: 0.80}
    records = [record(i, accuracy[lr] + 0.01, learning_rate=lr) for i, lr in enumerate(accuracy)]
    for lr in GRID["learning_rate"]:
        for sizes in GRID["filter_sizes"]:
            score = accuracy[lr] + 0.02 - 0.01 * len(sizes)
            trial = len(records)
            records.append(
                record(trial, score, architecture="cnn", learning_rate=lr, filter_sizes=sizes)
            )
    records[7] = record(7, math.nan, architecture="cnn", learning_rate=1e-2)
    records[8] = record(8, None, architecture="cnn", learning_rate=1e-2, filter_sizes=[2, 3])
    records[3]["status"] = "pruned"
    records[3]["status_reason"] = "pruned at rung 1: below the median"
    return records


@pytest.fixture
def grid_sweep(tmp_path):
    return sweep_dir(tmp_path / "grid", grid_records(), GRID)


def ranking_rows(markdown):
    section = markdown.split("## Ranking")[1].split("\n## ")[0]
    return [line for line in section.splitlines() if line.startswith("| ")][2:]


def test_report_has_one_ranking_row_per_config(grid_sweep):
    written = write_report(grid_sweep)
    markdown = written.markdown.read_text()
    rows = ranking_rows(markdown)
    assert len(rows) == 9
    assert sorted(int(row.split("|")[2]) for row in rows) == list(range(9))
    assert rows[0].startswith("| 1 | 1 | gru | 0.001 | n/a | 0.9100 |")  # the best first
    assert rows[1].startswith("| 2 | 6 | cnn | 0.001 | [2, 3] | 0.9000 |")
    unranked = [row for row in rows if row.startswith("| — |")]
    assert len(unranked) == 2  # the failed config and the NaN one
    assert "FAILED: diverged at step 7" in rows[-1] or "FAILED: diverged at step 7" in rows[-2]
    assert sum("PRUNED: pruned at rung 1: below the median" in row for row in rows) == 1
    assert (grid_sweep / "report.html").is_file()


def test_every_figure_is_a_valid_png(grid_sweep):
    written = write_report(grid_sweep)
    names = {p.name for p in written.figures}
    assert {"overview.png", "studies.png", "learning_curves.png", "cell_types.png"} <= names
    assert {f"hparam_{n}.png" for n in GRID} <= names
    assert "greedy_iterations.png" not in names  # only a greedy sweep has iterations
    assert "Tuning iterations" not in written.markdown.read_text()
    assert sorted(written.figures) == sorted((grid_sweep / "figures").glob("*.png"))
    for path in written.figures:
        assert path.read_bytes()[:8] == PNG_SIGNATURE
        with Image.open(path) as image:
            image.verify()
        pixels = matplotlib.image.imread(path)
        assert pixels.shape[0] > 100 and pixels.shape[1] > 100


def test_html_is_self_contained_with_every_figure_embedded(grid_sweep):
    written = write_report(grid_sweep)
    page = written.html.read_text()
    embedded = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert sorted(embedded) == sorted(
        base64.b64encode(p.read_bytes()).decode() for p in written.figures
    )
    sources = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert all(s.startswith("data:image/png;base64,") for s in sources)
    assert "http://" not in page and "https://" not in page and "<link" not in page
    markdown = written.markdown.read_text()
    assert all(f"](figures/{p.name})" in markdown for p in written.figures)


def test_best_value_is_starred_once_per_hyperparameter(grid_sweep):
    by_name = {e.name: e for e in effects(load_sweep(grid_sweep))}
    assert by_name["learning_rate"].scale == "log"
    assert by_name["filter_sizes"].scale == "categorical"
    starred = {n: [r[0] for r in effect_rows(e) if "★" in r[0]] for n, e in by_name.items()}
    assert starred == {
        "architecture": ["gru ★"],
        "learning_rate": ["0.001 ★"],
        "filter_sizes": ["[2, 3] ★"],  # the best CNN's: the GRU has no filter_sizes
    }
    lr = by_name["learning_rate"]
    assert lr.values == [1e-4, 1e-3, 1e-2] and lr.counts == [3, 3, 3]
    assert lr.scores == pytest.approx([0.71, 0.91, 0.81])  # 1e-2: the NaN and failed CNNs skipped
    markdown = (write_report(grid_sweep).markdown).read_text()
    assert "| **0.001 ★** | 0.9100 | 3 |" in markdown


def test_one_at_a_time_effects_use_only_their_study(tmp_path):
    both = ("learning_rate", "dropout")
    records = [
        record(0, 0.80, studies=both, learning_rate=1e-3, dropout=0.0),  # the baseline
        record(1, 0.70, studies=["learning_rate"], learning_rate=1e-4, dropout=0.0),
        record(2, 0.85, studies=["learning_rate"], learning_rate=1e-2, dropout=0.0),
        record(3, 0.95, studies=["dropout"], learning_rate=1e-3, dropout=0.3),
    ]
    parameters = {"learning_rate": [1e-4, 1e-3, 1e-2], "dropout": [0.0, 0.3]}
    directory = sweep_dir(tmp_path / "oat", records, parameters)
    by_name = {e.name: e for e in effects(load_sweep(directory))}
    # lr=1e-3 scores the baseline only: the dropout study's 0.95 is not part of lr's study.
    assert by_name["learning_rate"].scores == [0.70, 0.80, 0.85]
    assert by_name["learning_rate"].best == 1e-2 and by_name["learning_rate"].study
    assert by_name["dropout"].scores == [0.80, 0.95] and by_name["dropout"].best == 0.3
    markdown = write_report(directory).markdown.read_text()
    assert "in its one-at-a-time study" in markdown


def test_records_without_studies_use_every_config(tmp_path):
    records = [record(0, 0.8, learning_rate=1e-3), record(1, 0.9, learning_rate=1e-2)]
    for r in records:
        del r["studies"]  # results.jsonl written before studies existed
    directory = sweep_dir(tmp_path / "old", records, {"learning_rate": [1e-3, 1e-2]})
    [effect] = effects(load_sweep(directory))
    assert not effect.study and effect.scores == [0.8, 0.9]
    assert write_report(directory).markdown.is_file()


def test_all_failed_sweep_still_writes_a_report(tmp_path):
    records = [record(i, None, learning_rate=lr) for i, lr in enumerate([1e-3, 1e-2])]
    directory = sweep_dir(tmp_path / "failed", records, {"learning_rate": [1e-3, 1e-2]})
    written = write_report(directory)
    markdown = written.markdown.read_text()
    assert "No config finished with a finite val_accuracy" in markdown
    assert "all 2 configs failed" in markdown
    assert len(ranking_rows(markdown)) == 2
    assert "No config finished: no recommendation." in markdown
    assert written.html.is_file()
    assert all(p.read_bytes()[:8] == PNG_SIGNATURE for p in written.figures)


def test_single_config_sweep(tmp_path):
    directory = sweep_dir(tmp_path / "one", [record(0, 0.9)], {})
    markdown = write_report(directory).markdown.read_text()
    assert len(ranking_rows(markdown)) == 1
    assert "Nothing was swept" in markdown
    assert "Only one cell type in this sweep (gru)" in markdown


def test_cell_types_are_compared_on_matched_configs_only(tmp_path):
    records = [
        record(0, 0.9, architecture="gru", learning_rate=1e-3),
        record(1, 0.8, architecture="lstm", learning_rate=1e-3),
        record(2, 0.7, architecture="gru", learning_rate=1e-2),
        # A CNN ignores hidden_size (reset to its default), so it still matches on lr.
        record(3, 0.85, architecture="cnn", learning_rate=1e-3, hidden_size=64),
        record(4, 0.6, architecture="gru", learning_rate=1e-3, hidden_size=32),
    ]
    parameters = {
        "architecture": ["gru", "lstm", "cnn"],
        "learning_rate": [1e-3, 1e-2],
        "hidden_size": [32, 64],
    }
    directory = sweep_dir(tmp_path / "cells", records, parameters)
    cells, matches = cell_matches(load_sweep(directory))
    assert cells == ["gru", "lstm", "cnn"]
    [match] = matches
    assert match.shared == {"learning_rate": 1e-3}
    assert match.scores == {"gru": 0.9, "lstm": 0.8, "cnn": 0.85}
    assert match.trials == {"gru": [0, 4], "lstm": [1], "cnn": [3]}

    unmatched = [
        record(0, 0.9, architecture="gru", learning_rate=1e-3),
        record(1, 0.8, architecture="lstm", learning_rate=1e-2),
    ]
    directory = sweep_dir(tmp_path / "unmatched", unmatched, parameters)
    markdown = write_report(directory).markdown.read_text()
    assert "nothing matches" in markdown


def test_a_value_reset_for_a_cell_type_is_neither_swept_nor_shown(tmp_path):
    records = [
        record(0, 0.9, architecture="gru", hidden_size=8),
        record(1, 0.8, architecture="cnn", filter_sizes=[2, 3]),  # hidden_size reset to 64
        record(2, 0.7, architecture="cnn", filter_sizes=[3, 4, 5]),
    ]
    parameters = {"architecture": ["gru", "cnn"], "filter_sizes": [[2, 3], [3, 4, 5]]}
    directory = sweep_dir(tmp_path / "reset", records, parameters)
    sweep = load_sweep(directory)
    assert sweep.swept == ["architecture", "filter_sizes"]
    [_, sizes] = effects(sweep)
    assert sizes.values == [[2, 3], [3, 4, 5]] and sizes.counts == [1, 1]  # CNN configs only
    rows = ranking_rows(write_report(directory).markdown.read_text())
    assert rows[0].startswith("| 1 | 0 | gru | n/a | 0.9000 |")


def test_per_layer_sizes_are_hidden_size_values_and_num_layers_is_not_swept(tmp_path):
    records = [
        record(0, 0.8, architecture="lstm", hidden_size=64, learning_rate=1e-3),
        record(1, 0.9, architecture="lstm", hidden_size=[128, 64], num_layers=2),
        record(2, 0.7, architecture="lstm", hidden_size=32, learning_rate=1e-2),
    ]
    parameters = {"hidden_size": [32, 64, [128, 64]], "learning_rate": [1e-3, 1e-2]}
    directory = sweep_dir(tmp_path / "layers", records, parameters)
    sweep = load_sweep(directory)
    assert sweep.swept == ["hidden_size", "learning_rate"]  # num_layers follows the list
    [sizes, _] = effects(sweep)
    assert sizes.values == [64, [128, 64], 32] and sizes.scale == "categorical"
    assert sizes.best == [128, 64]
    assert effect_rows(sizes)[1] == ("[128, 64] ★", "0.9000", "1")
    written = write_report(directory)
    rows = ranking_rows(written.markdown.read_text())
    assert rows[0].startswith("| 1 | 1 | [128, 64] | 0.001 | 0.9000 |")
    assert "hparam_hidden_size.png" in {p.name for p in written.figures}
    # num_layers swept next to integer sizes is still a swept hyperparameter.
    records = [
        record(0, 0.8, architecture="lstm", hidden_size=64),
        record(1, 0.9, architecture="lstm", hidden_size=32, num_layers=2),
        record(2, 0.6, architecture="lstm", hidden_size=64, num_layers=2),
    ]
    parameters = {"hidden_size": [32, 64], "num_layers": [1, 2]}
    directory = sweep_dir(tmp_path / "both", records, parameters)
    assert load_sweep(directory).swept == ["hidden_size", "num_layers"]


@pytest.mark.parametrize(
    ("values", "scale"),
    [
        ([1e-4, 1e-3, 1e-2], "log"),
        ([16, 64, 256], "log"),
        ([0.0, 1e-4, 1e-3], "symlog"),
        ([0.0, 0.1, 0.3], "linear"),
        ([2, 4, 8], "linear"),
        ([[3, 4, 5], [2, 3]], "categorical"),
        ([True, False], "categorical"),
        ([None, 1.0], "categorical"),
        (["gru", "lstm"], "categorical"),
    ],
)
def test_axis_scale(values, scale):
    assert axis_scale(values) == scale


def test_throughput_and_final_evaluation_are_read_when_present(grid_sweep):
    markdown = write_report(grid_sweep).markdown.read_text()
    assert "| wall time | not recorded |" in markdown
    assert "Not run: the test split has not been touched" in markdown

    sweep = {"name": "hand", "seconds": 9.0, "configs": 9, "config_epochs": 27, "populations": 2}
    (grid_sweep / "sweep.json").write_text(json.dumps(sweep))
    result = {"trial_id": 3, "val_accuracy": 0.91, "test_loss": 0.4, "test_macro_f1": 0.86}
    final = {
        **result,
        "best_epoch": 3,
        "test_accuracy": 0.875,
        "test_per_class_accuracy": [0.9, 0.85],
        "label_names": ["negative", "positive"],
        "test_size": 48,
        "evaluated_at": "2025-01-03T00:00:00+00:00",
        "first_evaluated_at": "2025-01-02T03:04:05+00:00",
        "forced": ["2025-01-03T00:00:00+00:00"],
        "top": [
            {**result, "test_accuracy": 0.875},
            {**result, "trial_id": 2, "test_accuracy": 0.8},
        ],
    }
    (grid_sweep / "final.json").write_text(json.dumps(final))
    markdown = write_report(grid_sweep).markdown.read_text()
    assert "| wall time | 9.0 s |" in markdown
    assert "| config-epochs per second | 3.00 |" in markdown  # 9 configs x 3 epochs / 9 s
    assert "| populations | 2 |" in markdown
    section = markdown.split("## Final test evaluation")[1]
    assert "| test_accuracy | 0.8750 |" in section and "| val_accuracy | 0.9100 |" in section
    assert "| positive | 0.8500 |" in section
    assert "| 2 | 0.9100 | 0.8000 | 0.4000 | 0.8600 |" in section  # the --top table
    assert "**Evaluated again with --force 1 time(s):** 2025-01-03T00:00:00+00:00" in section


def test_unreadable_final_json_is_one_line(grid_sweep):
    (grid_sweep / "final.json").write_text("{not json")
    result = runner.invoke(app, ["report", str(grid_sweep)])
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert line.startswith(f"error: {grid_sweep / 'final.json'}: not JSON")


def test_recommended_config_highlights_non_defaults(grid_sweep):
    markdown = write_report(grid_sweep).markdown.read_text()
    section = markdown.split("### Recommended final config")[1].split("\n## ")[0]
    assert "| learning_rate | 0.001 |" in section  # the default
    assert "| filter_sizes | [3, 4, 5] |" in section  # the default (a tuple in the registry)
    assert "| epochs | **3** |" in section
    assert yaml.safe_load(section.split("```yaml")[1].split("```")[0]) == {"model": {"epochs": 3}}


def test_cli_writes_the_report(grid_sweep):
    result = runner.invoke(app, ["report", str(grid_sweep)])
    assert result.exit_code == 0, result.output
    assert (grid_sweep / "report.md").is_file() and (grid_sweep / "report.html").is_file()


def test_cli_on_a_missing_directory_is_one_line_and_exit_2(tmp_path):
    missing = tmp_path / "nope"
    result = runner.invoke(app, ["report", str(missing)])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [f"error: {missing}: no such directory"]
    (tmp_path / "empty").mkdir()
    result = runner.invoke(app, ["report", str(tmp_path / "empty")])
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1 and "not a sweep directory" in result.stderr
    (tmp_path / "empty" / "spec.yaml").write_text("name: empty\n")
    (tmp_path / "empty" / "results.jsonl").write_text("")
    result = runner.invoke(app, ["report", str(tmp_path / "empty")])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: {tmp_path / 'empty' / 'results.jsonl'}: no results yet "
        "(the first population has not finished)"
    ]
