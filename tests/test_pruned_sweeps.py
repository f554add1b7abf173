"""Sweeps that prune, through the CLI: a W&B sweep file with early_terminate and the same
sweep with `scheduler: {type: asha}`. Each pruned run equals the sweep run unpruned, cut
where its rule, replayed on the unpruned curves, says: W&B's rule as jaxtune implements
it, and Optuna's own SuccessiveHalvingPruner."""

from __future__ import annotations

import json
import math

import optuna
import pytest
import yaml
from data_slices import make_slice
from test_early_terminate import SWEEP  # the W&B sweep file
from typer.testing import CliRunner

from jaxtune.cli import app
from jaxtune.results import rank
from jaxtune.schedulers.base import Verdict
from jaxtune.schedulers.early_terminate import HyperbandStopping, logged_values

runner = CliRunner()
optuna.logging.set_verbosity(optuna.logging.WARNING)

ASHA = {"type": "asha", "min_resource": 1, "reduction_factor": 3}


def _records(directory) -> dict[int, dict]:
    lines = (directory / "results.jsonl").read_text().splitlines()
    return {record["trial_id"]: record for record in map(json.loads, lines)}


def _wandb_replay(rule: HyperbandStopping, full: dict[int, list[float]]) -> dict[int, int]:
    """The engine's use of W&B's rule, replayed on the curves of the unpruned run: after
    each evaluation, every config still training (it has evaluations to come) is checked
    against every config's curve so far. Returns {config: the evaluation it was pruned
    after}."""
    at: dict[int, int] = {}
    why: dict[int, Verdict] = {}
    for evaluation in range(1, max(map(len, full.values())) + 1):
        so_far = {k: h[: at.get(k, evaluation)] for k, h in full.items()}
        running = {k: so_far[k] for k in full if k not in at and len(full[k]) > evaluation}
        others = [so_far[k] for k in full if k not in running]
        for k, verdict in rule.verdicts(running, others, maximize=True).items():
            at[k], why[k] = evaluation, verdict
    return at


def _optuna_replay(pruner, full: dict[int, list[float]]) -> dict[int, int]:
    """The unpruned curves reported to Optuna's pruner, a trial at a time in trial order
    each epoch (the population's slot order), every trial asking after every report."""
    study = optuna.create_study(direction="maximize", pruner=pruner)
    trials = {k: study.ask() for k in sorted(full)}
    at, running, step = {}, sorted(full), 0
    while running:
        step += 1
        for k in list(running):
            trials[k].report(full[k][step - 1], step)
            prune = trials[k].should_prune()
            if step == len(full[k]):
                running.remove(k)
            elif prune:
                at[k] = step
                running.remove(k)
    return at


def _sweep(tmp_path, data_dir, name, document):
    spec = tmp_path / f"{name}.yaml"
    spec.write_text(yaml.safe_dump(document, sort_keys=False))
    out = tmp_path / name
    args = ["sweep", str(spec), "--data-dir", str(data_dir), "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    records = _records(out)
    printed = " ".join(result.output.split())
    spent = sum(r["epochs_run"] for r in records.values())
    assert all(r["evaluations_planned"] == 3 for r in records.values())  # 3 epochs
    assert f"{spent} config-epochs of the {3 * len(records)} their budgets hold" in printed
    summary = json.loads((out / "sweep.json").read_text())
    assert (summary["config_epochs"], summary["config_epochs_planned"]) == (
        spent,
        3 * len(records),
    )
    return records, printed


def _check_cut(full, pruned, at, reason):
    """Each pruned config's curve is the unpruned one up to its cut, every other config's
    is unchanged; the pruned ones say why, and rank below every finished config."""
    assert at and len(at) < len(full)  # the rule prunes some configs, not all
    assert set(pruned) == set(full)
    for k, record in pruned.items():
        expected = full[k]["history"][: at.get(k, len(full[k]["history"]))]
        assert len(record["history"]) == len(expected), k
        for got, want in zip(record["history"], expected, strict=True):
            for metric in ("val_accuracy", "val_loss", "train_loss"):
                assert math.isclose(got[metric], want[metric], rel_tol=1e-6, abs_tol=1e-7)
        if k in at:
            assert record["status"] == "pruned"
            assert record["status_reason"].startswith(reason), record["status_reason"]
        else:
            assert record["status"] == full[k]["status"]
    ranked = rank(list(pruned.values()), "val_accuracy", "maximize")
    statuses = [r["status"] == "pruned" for r in ranked]
    assert statuses == sorted(statuses)  # every finished config ranks above the pruned


def test_pruned_sweeps_equal_the_unpruned_one_cut_where_each_rule_says(tmp_path):
    data_dir = make_slice(tmp_path / "data")
    document = yaml.safe_load(SWEEP) | {
        "data": {"name": "emotion", "max_length": 24},
        "model": {"embedding_dim": 16, "hidden_size": 16, "architecture": "gru"},
        "train": {"epochs": 3},
    }
    unpruned = {k: v for k, v in document.items() if k != "early_terminate"}
    full, printed = _sweep(tmp_path, data_dir, "full", unpruned)
    assert "configs compared at" not in printed and "scheduler" not in printed
    curves = {k: logged_values(r["history"], "val_accuracy") for k, r in full.items()}
    assert all(len(curves[k]) == len(r["history"]) for k, r in full.items())  # all finite

    # W&B's sweep file, unchanged
    wandb, printed = _sweep(tmp_path, data_dir, "pruned", document)
    assert "configs compared at evaluations 1, 3, 9, 27, ..." in printed
    at = _wandb_replay(HyperbandStopping.of(min_iter=1, eta=3), curves)
    _check_cut(full, wandb, at, "pruned by early_terminate after epoch")
    storage = f"sqlite:///{tmp_path / 'pruned' / 'study.db'}"
    study = optuna.load_study(study_name="pruned", storage=storage)
    states = {t.user_attrs["jaxtune_trial_id"]: t for t in study.trials}
    for k in at:
        trial = states[k]
        assert trial.state == optuna.trial.TrialState.PRUNED
        assert list(trial.intermediate_values.values()) == pytest.approx(curves[k][: at[k]])
    result = runner.invoke(app, ["report", str(tmp_path / "pruned")])
    assert result.exit_code == 0, result.output
    assert "PRUNED: pruned by early_terminate" in (tmp_path / "pruned" / "report.md").read_text()

    # The same sweep with Optuna's successive halving as its scheduler
    asha, printed = _sweep(tmp_path, data_dir, "asha", unpruned | {"scheduler": ASHA})
    assert "scheduler asha: rungs at evaluations 1, 3, 9" in printed
    at = _optuna_replay(optuna.pruners.SuccessiveHalvingPruner(1, 3), curves)
    _check_cut(full, asha, at, "pruned by asha at rung")
    assert {asha[k]["status_reason"].split(":")[0] for k in at} <= {
        "pruned by asha at rung 0 (epoch 1)",
        "pruned by asha at rung 1 (epoch 3)",
    }
