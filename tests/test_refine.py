"""`jaxtune refine`: the most sensitive hyperparameters, narrowed around the best value."""

import json

import yaml
from typer.testing import CliRunner

from jaxtune.cli import app
from jaxtune.refine import narrowed, sensitivities

runner = CliRunner()


def record(trial_id, accuracy, **hparams):
    best = None if accuracy is None else {"val_accuracy": accuracy}
    return {"trial_id": trial_id, "hparams": hparams, "best": best}


RECORDS = [
    record(0, 0.70, learning_rate=1e-4, dropout=0.0, optimizer="adam"),
    record(1, 0.90, learning_rate=1e-3, dropout=0.0, optimizer="adam"),
    record(2, 0.80, learning_rate=1e-2, dropout=0.0, optimizer="adam"),
    record(3, 0.88, learning_rate=1e-3, dropout=0.5, optimizer="adam"),
    record(4, 0.60, learning_rate=1e-3, dropout=0.0, optimizer="sgd"),
    record(5, None, learning_rate=1e-1, dropout=0.0, optimizer="adam"),  # failed: not scored
]


def test_sensitivity_is_the_spread_of_each_values_best_score():
    found = sensitivities(
        RECORDS, ["learning_rate", "dropout", "optimizer"], "val_accuracy", "maximize"
    )
    assert [s.name for s in found] == ["optimizer", "learning_rate", "dropout"]
    by_name = {s.name: s for s in found}
    assert by_name["learning_rate"].scores == {"0.0001": 0.70, "0.001": 0.90, "0.01": 0.80}
    assert abs(by_name["learning_rate"].spread - 0.20) < 1e-12
    assert abs(by_name["dropout"].spread - 0.02) < 1e-12
    assert by_name["optimizer"].best == "adam"


def test_narrowed_values_bracket_the_best():
    found = {
        s.name: s
        for s in sensitivities(RECORDS, ["learning_rate", "optimizer"], "val_accuracy", "maximize")
    }
    lr = found["learning_rate"]
    # A decade ladder: geometric midpoints to both neighbours, rounded to 3 digits.
    assert narrowed(lr, [1e-4, 1e-3, 1e-2]) == [0.000316, 0.001, 0.00316]
    assert narrowed(found["optimizer"], ["adam", "sgd"]) == ["adam", "sgd"]


def test_refine_writes_and_runs_the_follow_up_study(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        yaml.safe_dump(
            {
                "name": "first",
                "data": {"train_size": 240, "val_size": 64, "test_size": 16, "max_length": 10},
                "model": {"architecture": "gru", "embedding_dim": 8},
                "train": {"epochs": 2},
                "parameters": {
                    "learning_rate": {"values": [0.001, 0.01, 0.1]},
                    "hidden_size": {"values": [4, 16]},
                    "dropout": {"values": [0.0, 0.2]},
                },
            }
        )
    )
    first = tmp_path / "first"
    assert runner.invoke(app, ["sweep", str(spec), "--out", str(first)]).exit_code == 0
    second = tmp_path / "second"
    result = runner.invoke(app, ["refine", str(first), "--top", "2", "--out", str(second)])
    assert result.exit_code == 0, result.output
    refined = yaml.safe_load((first / "refine.yaml").read_text())
    records = [json.loads(line) for line in (first / "results.jsonl").read_text().splitlines()]
    best = max(records, key=lambda r: r["best"]["val_accuracy"])
    found = sensitivities(
        records, ["learning_rate", "hidden_size", "dropout"], "val_accuracy", "maximize"
    )
    chosen = [s.name for s in found[:2]]
    assert list(refined["parameters"]) == chosen
    for name in ("learning_rate", "hidden_size", "dropout"):
        if name in chosen:
            assert best["hparams"][name] in refined["parameters"][name]["values"]
        else:
            assert refined["model"][name] == best["hparams"][name]
    assert refined["name"] == "first_refine" and str(first) in refined["description"]
    rerun = [json.loads(line) for line in (second / "results.jsonl").read_text().splitlines()]
    assert any(  # the first study's best config is re-run as the reference
        all(
            r["hparams"][n] == best["hparams"][n]
            for n in ("learning_rate", "hidden_size", "dropout")
        )
        for r in rerun
    )
