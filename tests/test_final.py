"""`jaxtune final`: the best config's saved best-epoch params on the test split, once."""

import json

import numpy as np
import yaml
from typer.testing import CliRunner

from jaxtune.checkpoints import load_config_params
from jaxtune.cli import app
from jaxtune.data.synthetic import SyntheticConfig, make_synthetic
from jaxtune.final import result_line
from jaxtune.population.program import program_for
from jaxtune.tasks import TASKS

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
    assert document["trial_id"] == best["trial_id"] and document["task"] == "classify"
    test_metrics = {k for k in document if k.startswith("test_")} - {"test_size"}
    assert test_metrics == {
        "test_loss",
        "test_accuracy",
        "test_macro_f1",
        "test_per_class_accuracy",
    }
    assert len(document["test_per_class_accuracy"]) == len(document["label_names"]) > 1
    assert result.output.splitlines()[0] == (
        f"trial {best['trial_id']}: test accuracy {document['test_accuracy']:.4f}, "
        f"macro-F1 {document['test_macro_f1']:.4f}, loss {document['test_loss']:.4f}"
    )
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


def test_the_final_line_names_each_tasks_test_metrics_loss_last():
    classify = {"trial_id": 3, "test_loss": 0.5, "test_accuracy": 0.875, "test_macro_f1": 0.75}
    assert result_line(classify, TASKS["classify"]) == (
        "trial 3: test accuracy 0.8750, macro-F1 0.7500, loss 0.5000"
    )
    ctc = {
        "trial_id": 1,
        "test_loss": 1.5,
        "test_char_accuracy": 0.9,
        "test_cer": 0.1,
        "test_sequence_accuracy": 0.25,
        "test_per_class_accuracy": [],
    }
    assert result_line(ctc, TASKS["ctc"]) == (
        "trial 1: test char accuracy 0.9000, CER 0.1000, sequence accuracy 0.2500, loss 1.5000"
    )
    tag = {"trial_id": 0, "test_loss": 0.25, "test_token_accuracy": 0.5}  # others not recorded
    assert result_line(tag, TASKS["tag"]) == "trial 0: test token accuracy 0.5000, loss 0.2500"
