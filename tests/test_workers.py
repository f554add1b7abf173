"""Many workers, one sweep, on a real PostgreSQL (jaxtune/bench/postgres.py): two worker processes
finish a 32-config sweep, one of them SIGKILLed in the middle of a population; its trials
are failed by the heartbeat and re-run by the other; no trial is trained twice by a live
worker; the gathered report equals a single process's sweep of the same configs."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import optuna
import pytest
import yaml
from test_resume import finish, jaxtune, results
from typer.testing import CliRunner

from jaxtune.cli import app
from jaxtune.search.shared import RECORD_ATTR, TRIAL_ATTR, SharedSearch

runner = CliRunner()
SPEC = {
    "name": "workers",
    "seed": 0,
    "metric": {"name": "val_accuracy", "goal": "maximize"},
    "data": {"train_size": 160, "val_size": 64, "test_size": 32, "max_length": 10},
    "model": {"architecture": "gru", "embedding_dim": 8, "hidden_size": 8, "batch_size": 32},
    "train": {"epochs": 3, "checkpoint_every": 1},
    "parameters": {  # 4 x 4 x 2 = 32 configs, one static group
        "learning_rate": {"values": [1e-3, 3e-3, 1e-2, 3e-2]},
        "dropout": {"values": [0.0, 0.1, 0.2, 0.3]},
        "label_smoothing": {"values": [0.0, 0.1]},
    },
}
HEARTBEAT = ["--batch", "8", "--heartbeat", "1", "--grace", "4", "--wandb", "disabled"]


@pytest.fixture
def spec(tmp_path) -> Path:
    path = tmp_path / "workers.yaml"
    path.write_text(yaml.safe_dump(SPEC, sort_keys=False))
    return path


def test_two_workers_finish_a_sweep_one_killed_and_the_report_equals_one_process(
    spec, postgres_url, tmp_path
):
    study = f"workers-{uuid.uuid4().hex[:8]}"
    shared = ["--storage", postgres_url, "--study", study, *HEARTBEAT]
    # Worker A is SIGKILLed in its second population, after that population's epoch 1.
    killed = jaxtune(
        "worker", spec, "--out", tmp_path / "a", *shared, env={"JAXTUNE_TEST_KILL_AT": "1:1"}
    )
    survivor = jaxtune("worker", spec, "--out", tmp_path / "b", *shared)
    killed.communicate(timeout=600)
    assert killed.returncode == -9
    finish(survivor)

    loaded = optuna.load_study(study_name=study, storage=postgres_url)
    trials = loaded.get_trials(deepcopy=False)
    done = [t for t in trials if RECORD_ATTR in t.user_attrs]
    assert sorted(t.user_attrs[TRIAL_ATTR] for t in done) == list(range(32))
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in done)
    # The killed population's trials: failed by the heartbeat, and each retried once.
    stale = [t for t in trials if t.state == optuna.trial.TrialState.FAIL]
    assert len(stale) == 8 and not any(RECORD_ATTR in t.user_attrs for t in stale)
    retried = {t.system_attrs.get("failed_trial") for t in done} - {None}
    assert retried == {t.number for t in stale}
    assert not [
        t
        for t in trials
        if t.state in (optuna.trial.TrialState.WAITING, optuna.trial.TrialState.RUNNING)
    ]
    # No live worker trained a trial twice: A's first population and B's records, disjoint.
    first, second = results(tmp_path / "a"), results(tmp_path / "b")
    assert len(first) == 8 and len(second) == 24
    assert sorted(r["trial_id"] for r in first + second) == list(range(32))
    # What B's pruners see besides its own records: A's, from the study.
    as_b = SimpleNamespace(study=loaded, directory=str((tmp_path / "b").resolve()))
    assert SharedSearch.others(as_b) == first

    # One process over the same spec, and the workers' study gathered: the same results.
    single = tmp_path / "single"
    finish(jaxtune("sweep", spec, "--out", single, "--wandb", "disabled"))
    gathered = tmp_path / "gathered"
    report = runner.invoke(
        app, ["report", str(gathered), "--storage", postgres_url, "--study", study]
    )
    assert report.exit_code == 0, report.output
    assert "gathered 32 records" in report.output
    alone = {r["trial_id"]: r for r in results(single)}
    together = {r["trial_id"]: r for r in results(gathered)}
    assert sorted(alone) == sorted(together) == list(range(32))
    for trial_id, record in together.items():
        assert record["hparams"] == alone[trial_id]["hparams"]
        assert record["status"] == alone[trial_id]["status"]
        for name in ("val_loss", "val_accuracy", "train_loss"):
            np.testing.assert_allclose(
                [h[name] for h in record["history"]],
                [h[name] for h in alone[trial_id]["history"]],
                rtol=1e-5,
                atol=1e-6,
                err_msg=f"trial {trial_id} {name}",
            )

    def ranking(directory):
        return [
            line.split("|")[2].strip()
            for line in (directory / "report.md").read_text().splitlines()
            if line.startswith("| ") and line.split("|")[1].strip().isdigit()
        ]

    assert runner.invoke(app, ["report", str(single)]).exit_code == 0
    assert ranking(gathered) == ranking(single)
    # `final` once for the whole study: the best config's params, in its worker's directory.
    for directory in (gathered, single):
        final = runner.invoke(app, ["final", str(directory)])
        assert final.exit_code == 0, final.output
    evaluated, expected = (json.loads((d / "final.json").read_text()) for d in (gathered, single))
    assert evaluated["trial_id"] == expected["trial_id"]
    assert evaluated["test_accuracy"] == pytest.approx(expected["test_accuracy"], abs=1e-6)


def test_a_worker_refuses_another_spec_in_the_study_and_a_method_it_cannot_share(
    spec, postgres_url, tmp_path
):
    study = f"refuse-{uuid.uuid4().hex[:8]}"
    shared = ["--storage", postgres_url, "--study", study, "--wandb", "disabled"]
    small = tmp_path / "small.yaml"
    document = {**SPEC, "train": {"epochs": 1}, "parameters": {"dropout": {"values": [0.0, 0.1]}}}
    small.write_text(yaml.safe_dump(document, sort_keys=False))
    first = runner.invoke(app, ["worker", str(small), "--out", str(tmp_path / "a"), *shared])
    assert first.exit_code == 0, first.output
    assert len(results(tmp_path / "a")) == 2
    resumed = runner.invoke(app, ["resume", str(tmp_path / "a"), "--n-more", "1"])
    assert resumed.exit_code == 2 and "a worker is not resumed" in resumed.output
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump({**document, "seed": 1}, sort_keys=False))
    refused = runner.invoke(app, ["worker", str(other), "--out", str(tmp_path / "b"), *shared])
    assert refused.exit_code == 2
    assert f"study {study!r} holds a sweep of another spec" in refused.output
    greedy = tmp_path / "greedy.yaml"
    greedy.write_text(yaml.safe_dump({**SPEC, "method": "greedy"}))
    refused = runner.invoke(app, ["worker", str(greedy), *shared])
    assert refused.exit_code == 2
    assert "jaxtune worker shares grid, random, one_at_a_time, bayes" in refused.output
    nowhere = "postgresql://nobody@127.0.0.1:1/none"  # nothing listens on port 1
    for command in (
        ["worker", str(spec), "--storage", nowhere],
        ["report", str(tmp_path / "g"), "--storage", nowhere, "--study", study],
    ):
        lost = runner.invoke(app, command)
        assert lost.exit_code == 2 and "Traceback" not in lost.output
        assert f"error: --storage {nowhere}: cannot open the study's database" in lost.output
    short = runner.invoke(app, ["worker", str(spec), *shared, "--heartbeat", "5", "--grace", "5"])
    assert short.exit_code == 2 and "--grace: must be longer than --heartbeat" in short.output


def test_bayes_workers_ask_the_shared_study_until_its_run_cap(postgres_url, tmp_path):
    study = f"bayes-{uuid.uuid4().hex[:8]}"
    document = {
        **SPEC,
        "method": "bayes",
        "run_cap": 8,
        "train": {"epochs": 2},
        "parameters": {
            "learning_rate": {"distribution": "log_uniform_values", "min": 1e-3, "max": 1e-1},
            "dropout": {"distribution": "uniform", "min": 0.0, "max": 0.5},
        },
    }
    path = tmp_path / "bayes.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    shared = ["--storage", postgres_url, "--study", study, "--batch", "2", "--wandb", "disabled"]
    workers = [jaxtune("worker", path, "--out", tmp_path / name, *shared) for name in "ab"]
    for worker in workers:
        finish(worker)
    trained = results(tmp_path / "a") + results(tmp_path / "b")
    ids = sorted(r["trial_id"] for r in trained)
    assert len(set(ids)) == len(ids)  # no trial trained twice
    # Workers asking at one moment may pass the cap by a batch each, never more.
    assert 8 <= len(ids) <= 8 + 2
    assert results(tmp_path / "a") and results(tmp_path / "b")  # both took part
    loaded = optuna.load_study(study_name=study, storage=postgres_url)
    told = {t.user_attrs[TRIAL_ATTR]: t for t in loaded.get_trials(deepcopy=False)}
    assert sorted(told) == ids
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in told.values())
    for record in trained:  # the config trained is the one the study's sampler drew
        params = told[record["trial_id"]].params
        assert record["hparams"]["learning_rate"] == pytest.approx(params["learning_rate"])
