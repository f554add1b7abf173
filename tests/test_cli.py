"""The command line: bad input is one line and exit 2; the demo spec runs end to end."""

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from jaxtune.cli import app
from jaxtune.results import rank
from jaxtune.spec import SpecError

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def write(path: Path, document) -> Path:
    path.write_text(yaml.safe_dump(document) if not isinstance(document, str) else document)
    return path


def test_bad_spec_is_one_line_and_exit_2(tmp_path):
    spec = write(tmp_path / "bad.yaml", "parameters:\n  dropout: {values: [0.1, 2]}\n")
    result = runner.invoke(app, ["sweep", str(spec), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"error: {spec}: parameters.dropout.values[1]: expected a number in [0, 1), found 2"
    ]
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()  # validation happens before anything is written


def test_debug_shows_the_exception(tmp_path):
    spec = write(tmp_path / "bad.yaml", "method: bayes\n")
    result = runner.invoke(app, ["sweep", str(spec), "--debug"])
    assert result.exit_code != 0
    assert isinstance(result.exception, SpecError)


def test_unknown_hyperparameter_lists_the_known_ones(tmp_path):
    spec = write(tmp_path / "bad.yaml", {"parameters": {"hidden": {"values": [8]}}})
    result = runner.invoke(app, ["sweep", str(spec)])
    assert result.exit_code == 2
    assert "unknown hyperparameter 'hidden'; known: architecture, hidden_size" in result.stderr


def test_missing_spec_file(tmp_path):
    result = runner.invoke(app, ["sweep", str(tmp_path / "missing.yaml")])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: {tmp_path / 'missing.yaml'}: no such file"


def test_existing_sweep_is_not_replaced_without_overwrite(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.jsonl").write_text('{"trial_id": 0}\n')
    spec = write(tmp_path / "ok.yaml", {"data": {"train_size": 8, "val_size": 8, "test_size": 8}})
    result = runner.invoke(app, ["sweep", str(spec), "--out", str(out)])
    assert result.exit_code == 2
    assert "already holds a sweep" in result.stderr and "--overwrite" in result.stderr
    assert (out / "results.jsonl").read_text() == '{"trial_id": 0}\n'


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
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}  # production compiler flags
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from jaxtune.cli import main; main()",
            "sweep",
            str(spec),
            "--out",
            str(out),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    grid = list(itertools.product(*(p["values"] for p in document["parameters"].values())))
    assert len(records) == len(grid)
    assert sorted(r["trial_id"] for r in records) == list(range(len(grid)))
    for record in records:
        assert record["status"] in ("completed", "stopped")
        assert len(record["history"]) == record["epochs_run"] >= 1
        for epoch in record["history"]:
            assert set(epoch) >= {"epoch", "train_loss", "val_loss", "val_accuracy", "val_macro_f1"}
        assert record["best"] == record["history"][record["best_epoch"] - 1]
    swept = {tuple(r["hparams"][name] for name in document["parameters"]) for r in records}
    assert swept == set(grid)
    assert (out / "spec.yaml").read_text() == spec.read_text()
    # The printed ranking follows the metric, best first.
    assert "ranking by val_accuracy" in result.stdout
    assert str(out / "results.jsonl") in result.stdout
    ranked = rank(records, "val_accuracy", "maximize")
    table_rows = [line for line in result.stdout.splitlines() if line.startswith("│")]
    printed_trials = [int(row.split("│")[2]) for row in table_rows]
    assert printed_trials == [r["trial_id"] for r in ranked]
    values = [r["best"]["val_accuracy"] for r in ranked]
    assert values == sorted(values, reverse=True)


@pytest.mark.parametrize("args", [["--help"], ["sweep", "--help"]])
def test_help(args):
    result = runner.invoke(app, args)
    assert result.exit_code == 0 and "sweep" in result.output
