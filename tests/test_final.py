"""`jaxtune final`: the best config's saved best-epoch params on the test split, once."""

import json

import numpy as np
import yaml
from typer.testing import CliRunner

from jaxtune.checkpoints import load_config_params
from jaxtune.cli import app
from jaxtune.data.synthetic import SyntheticConfig, make_synthetic
from jaxtune.population.program import program_for

runner = CliRunner()
DATA = {"train_size": 240, "val_size": 64, "test_size": 48, "max_length": 10, "seed": 4}


def accuracy(config, params, split, dataset):
    model = program_for(config, dataset).model
    logits = model.apply({"params": params}, split.tokens, split.lengths)
    return float(np.mean(np.argmax(np.asarray(logits), -1) == split.labels))


def test_final_evaluates_the_saved_best_params_once(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        yaml.safe_dump(
            {
                "name": "final_test",
                "data": DATA,
                "model": {"architecture": "gru", "hidden_size": 8, "embedding_dim": 8},
                "train": {"epochs": 3},
                "parameters": {"learning_rate": {"values": [0.003, 0.03]}},
            }
        )
    )
    out = tmp_path / "out"
    assert runner.invoke(app, ["sweep", str(spec), "--out", str(out)]).exit_code == 0
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    best = max(records, key=lambda r: r["best"]["val_accuracy"])
    dataset = make_synthetic(SyntheticConfig(**DATA))
    params = load_config_params(out, best["params"])
    # The saved params are the best epoch's: they reproduce its validation accuracy.
    assert accuracy(best["hparams"], params, dataset.val, dataset) == best["best"]["val_accuracy"]

    result = runner.invoke(app, ["final", str(out)])
    assert result.exit_code == 0, result.output
    document = json.loads((out / "final.json").read_text())
    assert document["trial_id"] == best["trial_id"]
    expected = accuracy(best["hparams"], params, dataset.test, dataset)
    np.testing.assert_allclose(document["test_accuracy"], expected, rtol=1e-6)
    assert document["forced"] == [] and document["test_size"] == 48

    again = runner.invoke(app, ["final", str(out)])
    assert again.exit_code == 0 and "already evaluated at" in again.output
    assert json.loads((out / "final.json").read_text()) == document  # nothing re-evaluated

    forced = runner.invoke(app, ["final", str(out), "--force", "--top", "2"])
    assert forced.exit_code == 0, forced.output
    document = json.loads((out / "final.json").read_text())
    assert len(document["forced"]) == 1 and len(document["top"]) == 2
    np.testing.assert_allclose(document["test_accuracy"], expected, rtol=1e-6)


def test_final_on_a_directory_without_a_sweep_is_one_line(tmp_path):
    result = runner.invoke(app, ["final", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: {tmp_path}: not a finished sweep (no results.jsonl or spec.yaml)"
    ]
