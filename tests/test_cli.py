"""The command line: bad input is one line and exit 2; the demo spec runs end to end."""

import io
import itertools
import json
from pathlib import Path

import pytest
import yaml
from rich.console import Console
from support import run_python
from typer.testing import CliRunner

from jaxtune.cli import app
from jaxtune.console import RichDisplay
from jaxtune.directory import prepare_directory
from jaxtune.results import rank
from jaxtune.spec import SpecError, load_spec

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def write(path: Path, document) -> Path:
    path.write_text(yaml.safe_dump(document) if not isinstance(document, str) else document)
    return path


def test_bad_spec_is_one_line_and_exit_2(tmp_path):
    spec = write(tmp_path / "bad.yaml", "parameters:\n  dropout: {values: [0.1, 2]}\n")
    result = runner.invoke(app, ["sweep", str(spec), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: {spec}: parameters.dropout.values[1]: expected a number in [0, 1), found 2"
    ]
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()  # validation happens before anything is written


def test_debug_lets_the_exception_through(tmp_path):
    spec = write(tmp_path / "bad.yaml", "method: hyperband\n")
    result = runner.invoke(app, ["sweep", str(spec), "--debug"])
    assert result.exit_code != 0 and result.exit_code != 2
    assert isinstance(result.exception, SpecError)
    assert str(result.exception) == (
        f"{spec}: method: expected one of grid, random, one_at_a_time, greedy, bayes, "
        "found 'hyperband'"
    )
    assert "error: " not in result.stderr  # the one-line form is for non-debug runs


def test_unknown_hyperparameter_lists_the_known_ones(tmp_path):
    spec = write(tmp_path / "bad.yaml", {"parameters": {"hidden": {"values": [8]}}})
    result = runner.invoke(app, ["sweep", str(spec)])
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert line.startswith(f"error: {spec}: parameters.hidden: unknown hyperparameter 'hidden'; ")
    assert "known: architecture, hidden_size, num_layers" in line


def test_missing_spec_file(tmp_path):
    result = runner.invoke(app, ["sweep", str(tmp_path / "missing.yaml")])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [f"error: {tmp_path / 'missing.yaml'}: no such file"]


def test_existing_sweep_is_not_replaced_without_overwrite(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.jsonl").write_text('{"trial_id": 0}\n')
    spec = write(tmp_path / "ok.yaml", {"data": {"train_size": 8, "val_size": 8, "test_size": 8}})
    result = runner.invoke(app, ["sweep", str(spec), "--out", str(out)])
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert line == (
        f"error: {out}: holds an unfinished sweep; continue it with `jaxtune resume {out}`, "
        "or choose another --out or pass --overwrite"
    )
    assert (out / "results.jsonl").read_text() == '{"trial_id": 0}\n'
    assert not (out / "spec.yaml").exists()
    (out / "sweep.json").write_text("{}")
    result = runner.invoke(app, ["sweep", str(spec), "--out", str(out)])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: {out}: already holds a finished sweep (sweep.json); "
        "choose another --out or pass --overwrite"
    ]


def test_out_that_is_a_file_is_one_line(tmp_path):
    out = tmp_path / "taken"
    out.write_text("not a directory")
    spec = write(tmp_path / "ok.yaml", {"train": {"epochs": 1}})
    result = runner.invoke(app, ["sweep", str(spec), "--out", str(out)])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: {out}: cannot create the sweep directory: File exists"
    ]
    assert out.read_text() == "not a directory"


def test_rerun_from_the_sweeps_own_spec_copy_with_overwrite(tmp_path):
    # `jaxtune sweep runs/demo/spec.yaml --out runs/demo --overwrite` used to crash on
    # shutil.SameFileError after deleting the old results.
    out = tmp_path / "sweep"
    out.mkdir()
    copy = write(out / "spec.yaml", "name: again\n")
    (out / "results.jsonl").write_text("{}\n")
    prepare_directory(out, load_spec(copy), overwrite=True)
    assert copy.read_text() == "name: again\n"
    assert not (out / "results.jsonl").exists()


def record(trial_id, accuracy, status="completed"):
    best = None if accuracy is None else {"val_loss": 1.0, "val_accuracy": accuracy}
    return {
        "trial_id": trial_id,
        "status": status,
        "hparams": {"learning_rate": 0.01 * (trial_id + 1), "dropout": 0.0},
        "best_epoch": None if best is None else 2,
        "best": best,
    }


def printed_trials(text: str) -> list[int]:
    """The trial column of a printed ranking table (second cell of each body row)."""
    rows = [line for line in text.splitlines() if line.startswith("│")]
    return [int(row.split("│")[2]) for row in rows]


def test_ranking_is_printed_best_first_to_the_given_console():
    buffer = io.StringIO()
    display = RichDisplay(Console(file=buffer, width=200))
    records = [record(0, 0.5), record(1, None, "failed"), record(2, 0.9), record(3, 0.7)]
    display.ranking(rank(records, "val_accuracy", "maximize"), "val_accuracy")
    text = buffer.getvalue()  # a console passed in is used, even when it is not a terminal
    assert "ranking by val_accuracy" in text
    assert printed_trials(text) == [2, 3, 0, 1]
    assert "learning_rate" in text and "dropout" not in text  # only varying hparams
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in text.splitlines()]
    rows = {row[1]: row[2:] for row in rows if row}
    # learning_rate, val_accuracy (the metric first), val_loss, val_macro_f1, best epoch, status
    assert rows["2"] == ["0.03", "0.9000", "1.0000", "-", "2", "completed"]
    assert rows["1"] == ["0.02", "-", "-", "-", "-", "failed"]


def tiny_demo_spec(tmp_path: Path) -> tuple[Path, dict]:
    """experiments/demo.yaml with its grid kept and its data and model shrunk."""
    document = yaml.safe_load((ROOT / "experiments" / "demo.yaml").read_text())
    document["data"].update(train_size=200, val_size=64, test_size=16, min_length=4, max_length=10)
    document["model"].update(hidden_size=8, embedding_dim=8)
    document["train"]["epochs"] = 2
    return write(tmp_path / "demo.yaml", document), document


def test_demo_spec_runs_end_to_end(tmp_path):
    spec, document = tiny_demo_spec(tmp_path)
    out = tmp_path / "sweep"
    out.mkdir()
    (out / "results.jsonl").write_text('{"stale": true}\n')  # replaced because of --overwrite
    result = run_python(
        ["-c", "from jaxtune.cli import main; main()"]
        + ["sweep", str(spec), "--out", str(out), "--overwrite"],
        cwd=tmp_path,
    )
    assert "Traceback" not in result.stderr
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    grid = list(itertools.product(*(p["values"] for p in document["parameters"].values())))
    assert len(records) == len(grid)
    assert sorted(r["trial_id"] for r in records) == list(range(len(grid)))
    for record_ in records:
        assert {"trial_id", "hparams", "history", "best_epoch", "status"} <= set(record_)
        assert record_["status"] in ("completed", "stopped")
        assert len(record_["history"]) == record_["epochs_run"] >= 1
        assert record_["epochs_run"] <= document["train"]["epochs"]
        for epoch in record_["history"]:
            assert set(epoch) >= {"epoch", "train_loss", "val_loss", "val_accuracy", "val_macro_f1"}
        assert record_["best"] == record_["history"][record_["best_epoch"] - 1]
        for name, value in document["model"].items():
            assert record_["hparams"][name] == value
    swept = {tuple(r["hparams"][name] for name in document["parameters"]) for r in records}
    assert swept == set(grid)
    assert (out / "spec.yaml").read_text() == spec.read_text()
    # JAXTUNE_COMPILE_CACHE=off (conftest.py): nothing kept, nothing loaded.
    cache = json.loads((out / "sweep.json").read_text())["compile_cache"]
    assert cache == {"directory": None, "loaded": 0, "written": 0, "seconds_saved": 0.0}
    # The printed ranking follows the metric, best first.
    assert "ranking by val_accuracy" in result.stdout
    assert str(out / "results.jsonl") in result.stdout
    ranked = rank(records, "val_accuracy", "maximize")
    assert printed_trials(result.stdout) == [r["trial_id"] for r in ranked]
    values = [r["best"]["val_accuracy"] for r in ranked]
    assert values == sorted(values, reverse=True)


@pytest.mark.parametrize("args", [["--help"], ["sweep", "--help"]])
def test_help(args):
    result = runner.invoke(app, args)
    assert result.exit_code == 0 and "sweep" in result.output
