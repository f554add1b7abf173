"""Exact resume: a sweep killed with SIGKILL (in training, or mid-snapshot) resumes to the
results of an uninterrupted run. Every run is a subprocess with the same compiler flags."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import yaml

from jaxtune.layout import SNAPSHOTS_DIR

SPEC = {
    "name": "resume",
    "seed": 0,
    "method": "grid",
    "metric": {"name": "val_accuracy", "goal": "maximize"},
    "data": {"train_size": 600, "val_size": 128, "test_size": 64, "max_length": 16},
    "model": {"embedding_dim": 16, "hidden_size": 16},
    "train": {"epochs": 6, "early_stopping": {"monitor": "val_loss", "patience": 2}},
    "parameters": {
        "architecture": {"values": ["gru", "lstm"]},  # two populations
        # Merged (budget.merge auto): each population mixes both batch sizes and kinds,
        # its optimizer state the union of the kinds' (merge.py).
        "batch_size": {"values": [16, 32]},
        "optimizer": {"values": ["adam", "sgd"]},
    },
}

BAYES = {
    **SPEC,
    "name": "resume",
    "method": "bayes",
    "run_cap": 6,
    "budget": {"ask_batch": 2},  # three rounds, each one population of 2
    "model": {**SPEC["model"], "architecture": "gru", "batch_size": 32},
    "train": {"epochs": 4},
    "parameters": {
        "learning_rate": {"distribution": "log_uniform_values", "min": 1e-3, "max": 1e-1},
        "dropout": {"distribution": "uniform", "min": 0.0, "max": 0.5},
    },
}

# Runs the CLI; with JAXTUNE_TEST_KILL_AT="P:E", SIGKILLs itself right after the save of
# population P's snapshot of epoch E was started, while orbax writes it in the background
# (after JAXTUNE_TEST_KILL_DELAY seconds, if set).
CHILD = """
import os, signal, sys, time
kill_at = os.environ.get("JAXTUNE_TEST_KILL_AT")
if kill_at:
    from jaxtune import snapshots
    population, epoch = (int(v) for v in kill_at.split(":"))
    save = snapshots.PopulationSnapshots.maybe_save
    def maybe_save(self, e, state, progress, *, last):
        saved = save(self, e, state, progress, last=last)
        if saved and e == epoch and self.path.name == f"population_{population:03d}":
            time.sleep(float(os.environ.get("JAXTUNE_TEST_KILL_DELAY", "0")))
            os.kill(os.getpid(), signal.SIGKILL)
        return saved
    snapshots.PopulationSnapshots.maybe_save = maybe_save
kill_after = os.environ.get("JAXTUNE_TEST_KILL_AFTER_ASK")
if kill_after:  # SIGKILL right after the N-th trial asked for a freed slot (method bayes)
    from jaxtune.search import bayes
    take, asked = bayes.BayesRefill.take, []
    def counted(self, fits):
        fresh = not self._replay
        trial = take(self, fits)
        asked.extend([1] if fresh else [])
        if len(asked) == int(kill_after):
            os.kill(os.getpid(), signal.SIGKILL)
        return trial
    bayes.BayesRefill.take = counted
from jaxtune.cli import main
sys.argv = ["jaxtune", *sys.argv[1:]]
main()
"""


def jaxtune(*args, env=None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, *map(str, args)],
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen) -> str:
    stdout, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stderr
    return " ".join(stdout.split())  # rich wraps long lines


def results(directory: Path) -> list[dict]:
    return [json.loads(line) for line in (directory / "results.jsonl").read_text().splitlines()]


# W&B's hyperband early_terminate: after epoch 1 each population keeps its best third
# (the second one compared with the first one's curves too), so a resume must also bring
# back which configs were pruned, and why, from the snapshot and results.jsonl. With two
# slots per program, each population streams its 4 configs through 2 slots (a pruned or
# finished config's slot refilled), so a resume also brings back who is in which slot.
EARLY_TERMINATE = {"type": "hyperband", "min_iter": 1, "eta": 3}


@pytest.fixture(scope="module")
def spec(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("spec") / "resume.yaml"
    document = {**SPEC, "early_terminate": EARLY_TERMINATE, "budget": {"max_population": 2}}
    path.write_text(yaml.safe_dump(document))
    return path


@pytest.fixture(scope="module")
def uninterrupted(spec, tmp_path_factory) -> list[dict]:
    out = tmp_path_factory.mktemp("uninterrupted") / "sweep"
    finish(jaxtune("sweep", spec, "--out", out))
    assert not (out / SNAPSHOTS_DIR).exists()  # spent snapshots are deleted
    records = results(out)
    pruned = {r["group"] for r in records if r["status"] == "pruned"}
    assert len(pruned) == 2, [r["status"] for r in records]  # in both populations
    refilled = {r["group"] for r in records if r.get("data_epoch", 0) > 0}
    assert len(refilled) == 2, [r.get("data_epoch") for r in records]
    return records


def check_resumes_to(out: Path, expected: list[dict]) -> str:
    """Resume the killed sweep in `out`; returns what it printed."""
    assert not (out / "sweep.json").exists()  # the kill came before the end
    printed = finish(jaxtune("resume", out))
    assert results(out) == expected
    study = optuna.load_study(study_name="resume", storage=f"sqlite:///{out / 'study.db'}")
    ids = sorted(t.user_attrs["jaxtune_trial_id"] for t in study.trials)
    assert ids == [r["trial_id"] for r in expected]  # each config once in the study
    assert json.loads((out / "sweep.json").read_text())["configs"] == len(expected)
    assert not (out / SNAPSHOTS_DIR).exists()
    return printed


def kill_when(process: subprocess.Popen, path: Path) -> None:
    """SIGKILL the process as soon as `path` exists."""
    deadline = time.monotonic() + 300
    while not path.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert path.exists(), process.stderr.read()


def test_kill_9_while_training_then_resume_equals_uninterrupted(spec, uninterrupted, tmp_path):
    out = tmp_path / "sweep"
    process = jaxtune("sweep", spec, "--out", out)
    kill_when(process, out / SNAPSHOTS_DIR / "population_001" / "2")  # second population
    assert len(results(out)) == 4  # the first population's results survived the kill
    printed = check_resumes_to(out, uninterrupted)
    assert "population 1: resuming from its snapshot after epoch" in printed
    assert "population 0: resuming" not in printed  # its results were on disk


def test_kill_9_during_a_snapshot_write_then_resume_equals_uninterrupted(
    spec, uninterrupted, tmp_path
):
    out = tmp_path / "sweep"
    process = jaxtune("sweep", spec, "--out", out, env={"JAXTUNE_TEST_KILL_AT": "0:3"})
    process.wait(timeout=600)
    assert process.returncode == -signal.SIGKILL, process.stderr.read()
    population = out / SNAPSHOTS_DIR / "population_000"
    unfinished = [p.name for p in population.iterdir() if "tmp" in p.name]
    assert unfinished, sorted(p.name for p in population.iterdir())  # killed mid-write
    assert not (population / "3").exists()
    printed = check_resumes_to(out, uninterrupted)
    assert "population 0: resuming from its snapshot after epoch 2" in printed


def test_resume_refuses_a_finished_sweep_and_a_stranger(spec, tmp_path):
    out = tmp_path / "sweep"
    (out).mkdir()
    process = jaxtune("resume", out)
    process.wait(timeout=120)
    assert process.returncode == 2
    assert process.stderr.read().splitlines() == [
        f"error: {out}: not a jaxtune sweep directory (no spec.yaml or run.json)"
    ]
    (out / "spec.yaml").write_text(spec.read_text())
    (out / "run.json").write_text("{}")
    (out / "sweep.json").write_text("{}")
    process = jaxtune("resume", out)
    process.wait(timeout=120)
    assert process.returncode == 2
    assert process.stderr.read().splitlines() == [
        f"error: {out}: the sweep already finished (sweep.json); nothing to resume "
        "(--n-more N adds configs to a random or bayes sweep)"
    ]


def test_bayes_sweep_killed_in_its_second_round_resumes_to_the_same_trials(tmp_path):
    spec = tmp_path / "bayes.yaml"
    spec.write_text(yaml.safe_dump(BAYES))
    finish(jaxtune("sweep", spec, "--out", tmp_path / "uninterrupted"))
    expected = results(tmp_path / "uninterrupted")
    assert len(expected) == 6
    assert len({r["hparams"]["learning_rate"] for r in expected}) == 6  # TPE proposed 6
    out = tmp_path / "sweep"
    process = jaxtune("sweep", spec, "--out", out)
    kill_when(process, out / SNAPSHOTS_DIR / "population_001" / "2")
    assert len(results(out)) == 2  # the first round was told and written
    printed = check_resumes_to(out, expected)  # same seeded proposals in every round
    assert "population 1: resuming from its snapshot after epoch" in printed
    study = optuna.load_study(study_name="resume", storage=f"sqlite:///{out / 'study.db'}")
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE] * 6
    finish(jaxtune("resume", out, "--n-more", "2"))  # one more round of the same study
    assert results(out)[:6] == expected and len(results(out)) == 8
    study = optuna.load_study(study_name="resume", storage=f"sqlite:///{out / 'study.db'}")
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE] * 8


# method bayes with a pruning scheduler: each population streams, and a freed slot asks
# the study for a trial (TPE told of every trial that has ended); one of another
# architecture waits for the next round. A resume replays the asks made after the
# snapshot instead of asking again.
BAYES_REFILL = {
    **BAYES,
    "run_cap": 8,
    "budget": {"ask_batch": 2},
    "scheduler": {"type": "asha", "min_resource": 1, "reduction_factor": 2},
    "model": {**SPEC["model"], "batch_size": 32},
    "parameters": {**BAYES["parameters"], "architecture": {"values": ["gru", "lstm"]}},
}


@pytest.fixture(scope="module")
def bayes_refill(tmp_path_factory) -> tuple[Path, list[dict]]:
    spec = tmp_path_factory.mktemp("bayes_refill") / "bayes.yaml"
    spec.write_text(yaml.safe_dump(BAYES_REFILL))
    out = spec.parent / "uninterrupted"
    finish(jaxtune("sweep", spec, "--out", out))
    expected = results(out)
    assert len(expected) == 8
    study = optuna.load_study(study_name="resume", storage=f"sqlite:///{out / 'study.db'}")
    asks = [t.user_attrs for t in study.trials if "jaxtune_refill" in t.user_attrs]
    # The first population's slot took the first ask and deferred the second to round 1.
    assert ["jaxtune_round" in a for a in asks[:2]] == [False, True]
    return spec, expected


@pytest.mark.parametrize("ask", [1, 2], ids=["after-a-taken-ask", "after-a-deferred-ask"])
def test_bayes_refill_killed_after_an_ask_resumes_to_the_same_trials(bayes_refill, ask, tmp_path):
    """Killed after a freed slot's ask, before the next snapshot: the resumed stream
    replays that ask (the trial it took, or the one it deferred to the next round)."""
    spec, expected = bayes_refill
    out = tmp_path / "sweep"
    process = jaxtune("sweep", spec, "--out", out, env={"JAXTUNE_TEST_KILL_AFTER_ASK": str(ask)})
    process.wait(timeout=600)
    assert process.returncode == -signal.SIGKILL, process.stderr.read()
    printed = check_resumes_to(out, expected)
    assert "population 0: resuming from its snapshot after epoch" in printed


RANDOM = {
    **SPEC,
    "method": "random",
    "run_cap": 3,
    "train": {"epochs": 2},
    "parameters": {
        "architecture": {"values": ["gru", "lstm"]},
        "learning_rate": {"distribution": "log_uniform_values", "min": 1e-3, "max": 1e-1},
    },
}


def test_n_more_extends_a_finished_random_sweep_in_the_same_study(tmp_path):
    from typer.testing import CliRunner

    from jaxtune.cli import app
    from jaxtune.search.samplers import sample
    from jaxtune.spec import load_spec

    runner = CliRunner()
    spec = tmp_path / "random.yaml"
    spec.write_text(yaml.safe_dump(RANDOM))
    out = tmp_path / "sweep"
    assert runner.invoke(app, ["sweep", str(spec), "--out", str(out)]).exit_code == 0
    first = results(out)
    result = runner.invoke(app, ["resume", str(out), "--n-more", "2"])
    assert result.exit_code == 0, result.output
    extended = results(out)
    assert extended[:3] == first  # the first configs are kept, not retrained
    five = load_spec(spec)
    five = type(five)(**{**five.__dict__, "run_cap": 5})
    assert [r["hparams"] for r in extended] == [
        {k: list(v) if isinstance(v, tuple) else v for k, v in t.config.items()}
        for t in sample(five)[0]
    ]  # the same 5 configs a run_cap of 5 draws
    study = optuna.load_study(study_name="resume", storage=f"sqlite:///{out / 'study.db'}")
    assert len(study.trials) == 5
    assert json.loads((out / "run.json").read_text())["extensions"] == [2]
    assert json.loads((out / "sweep.json").read_text())["configs"] == 5


def test_n_more_refuses_a_grid_sweep(spec, tmp_path):
    from typer.testing import CliRunner

    from jaxtune.cli import app

    out = tmp_path / "sweep"
    out.mkdir()
    (out / "spec.yaml").write_text(spec.read_text())
    (out / "run.json").write_text("{}")
    result = CliRunner().invoke(app, ["resume", str(out), "--n-more", "4"])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: {out / 'spec.yaml'}: method: --n-more extends method random or bayes; "
        "found grid, whose configs are fixed by the spec"
    ]
