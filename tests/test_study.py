"""A sweep is an Optuna study that plain Optuna reads back with the right states and values."""

import json
import math

import optuna
import yaml
from typer.testing import CliRunner

from jaxtune.cli import app
from jaxtune.study import STUDY_FILE

runner = CliRunner()


def test_sweep_writes_an_optuna_study_plain_optuna_reads_back(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        yaml.safe_dump(
            {
                "name": "study_test",
                "data": {"train_size": 200, "val_size": 64, "test_size": 16, "max_length": 10},
                "model": {"architecture": "gru", "hidden_size": 8, "embedding_dim": 8},
                "train": {"epochs": 2},
                "parameters": {
                    "optimizer": {"values": ["adam", "sgd"]},
                    "learning_rate": {"values": [0.01, 1000.0]},  # sgd at 1000 diverges
                    "filter_sizes": {"value": [2, 3]},
                },
            }
        )
    )
    out = tmp_path / "out"
    result = runner.invoke(app, ["sweep", str(spec), "--out", str(out)])
    assert result.exit_code == 0, result.output
    records = {
        r["trial_id"]: r for r in map(json.loads, (out / "results.jsonl").read_text().splitlines())
    }
    study = optuna.load_study(study_name="study_test", storage=f"sqlite:///{out / STUDY_FILE}")
    assert study.direction == optuna.study.StudyDirection.MAXIMIZE
    trials = {t.user_attrs["jaxtune_trial_id"]: t for t in study.trials}
    assert sorted(trials) == sorted(records) and len(trials) == 4
    failed = [k for k, r in records.items() if r["status"] == "failed"]
    assert failed  # the divergent config is in the study as FAIL
    for trial_id, trial in trials.items():
        record = records[trial_id]
        assert trial.params == {
            "optimizer": record["hparams"]["optimizer"],
            "learning_rate": record["hparams"]["learning_rate"],
        }
        if trial_id in failed:
            assert trial.state == optuna.trial.TrialState.FAIL and trial.value is None
        else:
            assert trial.state == optuna.trial.TrialState.COMPLETE
            assert trial.value == record["best"]["val_accuracy"]
        expected = {
            h["epoch"]: h["val_accuracy"]
            for h in record["history"]
            if math.isfinite(h["val_accuracy"])
        }
        assert trial.intermediate_values == expected
        assert trial.user_attrs["config"] == record["hparams"]
        assert trial.user_attrs["status_reason"] == record["status_reason"]
    best = max((r for r in records.values() if r["best"]), key=lambda r: r["best"]["val_accuracy"])
    assert study.best_trial.user_attrs["jaxtune_trial_id"] == best["trial_id"]
    # --overwrite starts a fresh study instead of appending to the old one.
    result = runner.invoke(app, ["sweep", str(spec), "--out", str(out), "--overwrite"])
    assert result.exit_code == 0, result.output
    again = optuna.load_study(study_name="study_test", storage=f"sqlite:///{out / STUDY_FILE}")
    assert len(again.trials) == 4


def test_random_draws_optuna_cannot_sample_are_still_trial_params():
    from jaxtune.search.bayes import optuna_distributions
    from jaxtune.search.samplers import sample
    from jaxtune.spec import parse_spec
    from jaxtune.study import record_trials

    spec = parse_spec(
        {
            "method": "random",
            "run_cap": 6,
            "parameters": {
                "dropout": {"distribution": "normal", "mu": 0.3, "sigma": 0.1},
                "learning_rate": {
                    "distribution": "q_log_uniform_values",
                    "min": 1e-4,
                    "max": 1e-1,
                    "q": 1e-4,
                },
                "optimizer": {"values": ["adam", "sgd"], "probabilities": [0.7, 0.3]},
                "hidden_size": {"distribution": "q_normal", "mu": 64, "sigma": 16, "q": 8},
            },
        },
        "random.yaml",
    )
    trials, _ = sample(spec)
    records = [
        {
            "trial_id": t.trial_id,
            "hparams": t.config,
            "status": "completed",
            "status_reason": "ran 1 epochs",
            "best_epoch": 1,
            "epochs_run": 1,
            "group": 0,
            "best": {"val_accuracy": 0.5 + t.trial_id / 100},
            "history": [{"epoch": 1, "val_accuracy": 0.5 + t.trial_id / 100}],
        }
        for t in trials
    ]
    study = optuna.create_study(direction="maximize")
    record_trials(study, records, "val_accuracy", optuna_distributions(spec))
    assert len(study.trials) == len(trials)
    for trial, record in zip(study.trials, records, strict=True):
        assert trial.params == {
            name: record["hparams"][name]
            for name in ("dropout", "learning_rate", "optimizer", "hidden_size")
        }
    assert study.trials[0].distributions["optimizer"].choices == ("adam", "sgd")
