"""W&B's early_terminate (hyperband): band arithmetic, thresholds and verdicts computed by
hand; the spec section; and a W&B sweep file run through the CLI, whose pruned configs
are exactly those the rule names when it is replayed on the same sweep run unpruned."""

from __future__ import annotations

import json
import math

import numpy as np
import optuna
import pytest
import yaml
from data_slices import make_slice
from typer.testing import CliRunner

from jaxtune.cli import app
from jaxtune.results import rank
from jaxtune.schedulers.early_terminate import (
    HyperbandStopping,
    Verdict,
    logged_values,
    population_pruner,
)
from jaxtune.spec import SpecError, parse_spec

runner = CliRunner()


def test_bands_from_min_iter_multiply_by_eta_as_wandb_does():
    bands = HyperbandStopping.of(min_iter=1, eta=3).bands
    assert bands[:5] == (1, 3, 9, 27, 81) and len(bands) == 100
    # A float eta: 2, 2 * 2.5 = 5, 12.5 -> 12, 31.25 -> 31
    assert HyperbandStopping.of(min_iter=2, eta=2.5).bands[:4] == (2, 5, 12, 31)


def test_bands_from_max_iter_divide_s_times_and_stop_below_one():
    assert HyperbandStopping.of(max_iter=81, s=3, eta=3).bands == (3, 9, 27)
    # 10 / 3 = 3.33 -> 3, 1.11 -> 1, then 0.37 is below 1: two bands although s is 4
    assert HyperbandStopping.of(max_iter=10, s=4, eta=3).bands == (1, 3)
    with pytest.raises(ValueError, match="below 1"):
        HyperbandStopping.of(max_iter=2, s=1, eta=3)


def test_thresholds_and_verdicts_minimize():
    rule = HyperbandStopping.of(max_iter=4, s=2, eta=2)  # bands 1, 2
    assert rule.bands == (1, 2)
    finished = [5.0, 3.0]
    running = {"b": [6.0, 4.0], "c": [4.0, 2.0, 1.0], "d": [7.0]}
    # band 1: sorted [4, 5, 6, 7][int(0.5 * 4)] = 6; band 2: sorted [2, 3, 4][int(1.5)] = 3
    assert rule.thresholds([finished, *running.values()]) == [6.0, 3.0]
    assert rule.verdicts(running, [finished], maximize=False) == {
        "b": Verdict(band=2, value=4.0, threshold=3.0),
        "d": Verdict(band=1, value=7.0, threshold=6.0),
    }


def test_strict_compares_the_value_at_the_band_and_loose_the_best_so_far():
    # eta 3, bands 2, 6, ...: band 2 over [1.0, 3.0] -> sorted[int(2 / 3)] = 1.0
    running, finished = {"j": [0.5, 3.0]}, [[1.0, 1.0]]
    strict = HyperbandStopping.of(min_iter=2, eta=3)
    assert strict.verdicts(running, finished, maximize=False) == {"j": Verdict(2, 3.0, 1.0)}
    loose = HyperbandStopping.of(min_iter=2, eta=3, strict=False)
    assert loose.verdicts(running, finished, maximize=False) == {}  # its best, 0.5, passes


def test_maximize_negates_and_reports_in_the_metrics_sign():
    running, finished = {"j": [0.95, 0.7]}, [[0.9, 0.8]]
    strict = HyperbandStopping.of(min_iter=2, eta=3)
    # negated band 2 values [-0.8, -0.7] -> threshold -0.8; -0.7 is worse
    assert strict.verdicts(running, finished, maximize=True) == {"j": Verdict(2, 0.7, 0.8)}
    loose = HyperbandStopping.of(min_iter=2, eta=3, strict=False)
    assert loose.verdicts(running, finished, maximize=True) == {}  # best 0.95 beats 0.8


def test_no_band_reached_stops_nothing():
    rule = HyperbandStopping.of(min_iter=3, eta=3)
    assert rule.verdicts({"a": [9.0, 9.0]}, [[1.0, 1.0, 1.0]], maximize=False) == {}


def test_logged_values_are_the_finite_values_of_the_metric():
    history = [{"val_loss": 1.0}, {"val_loss": float("nan")}, {}, {"val_loss": 0.5}]
    assert logged_values(history, "val_loss") == [1.0, 0.5]


def test_the_population_pruner_compares_with_earlier_configs_of_the_sweep():
    rule = HyperbandStopping.of(min_iter=1, eta=2)  # bands 1, 2, 4, ...
    earlier = [{"history": [{"val_accuracy": 0.9}, {"val_accuracy": 0.95}]}]
    prune = population_pruner(rule, "val_accuracy", True, lambda: earlier)
    histories = [[{"val_accuracy": 0.5}], [{"val_accuracy": 0.8}], [{"val_accuracy": 0.7}]]
    # band 1 over [0.5, 0.8, 0.7, 0.9] (negated, sorted: -0.9 -0.8 -0.7 -0.5)[2] -> 0.7
    verdicts = prune(histories, np.array([True, True, False]))
    assert verdicts == {0: Verdict(1, 0.5, 0.7)}  # config 2 ended already: never stopped


SWEEP = """\
program: train.py
name: pruned
method: grid
metric: {name: val_accuracy, goal: maximize}
early_terminate: {type: hyperband, min_iter: 1, eta: 3}
parameters:
  learning_rate: {values: [0.0003, 0.003, 0.03]}
  dropout: {values: [0.0, 0.5]}
  optimizer: {values: [adam, sgd]}
"""


def test_the_early_terminate_section_parses_as_wandb_writes_it():
    spec = parse_spec(yaml.safe_load(SWEEP), "s.yaml")
    assert spec.early_terminate == HyperbandStopping.of(min_iter=1, eta=3)
    both = yaml.safe_load(SWEEP)
    both["early_terminate"] |= {"max_iter": 27, "s": 2}
    spec = parse_spec(both, "s.yaml")
    assert spec.early_terminate.bands == (3, 9)
    assert any("min_iter: ignored" in notice for notice in spec.notices)


@pytest.mark.parametrize(
    "section,message",
    [
        ({"type": "envelope"}, "early_terminate.type: expected one of hyperband, found 'envelope'"),
        ({"type": "hyperband"}, "early_terminate: expected min_iter, or max_iter and s"),
        ({"type": "hyperband", "max_iter": 9}, "early_terminate.s: max_iter needs s"),
        ({"type": "hyperband", "min_iter": 0}, "early_terminate.min_iter: expected an integer"),
        ({"type": "hyperband", "min_iter": 1, "eta": 1}, "early_terminate.eta: expected a number"),
        ({"type": "hyperband", "min_iter": 1, "grace": 2}, "early_terminate.grace: unknown key"),
        ({"type": "hyperband", "max_iter": 2, "s": 1}, "early_terminate: max_iter 2 divided"),
    ],
)
def test_bad_early_terminate_sections_are_one_line(section, message):
    document = yaml.safe_load(SWEEP) | {"early_terminate": section}
    with pytest.raises(SpecError) as error:
        parse_spec(document, "s.yaml")
    assert str(error.value).startswith(f"s.yaml: {message}")
    assert "\n" not in str(error.value)


def _records(directory) -> dict[int, dict]:
    lines = (directory / "results.jsonl").read_text().splitlines()
    return {record["trial_id"]: record for record in map(json.loads, lines)}


def _replay(rule: HyperbandStopping, full: dict[int, list[float]]):
    """The engine's use of the rule, replayed on the curves of the unpruned run: after each
    evaluation, every config still training (it has evaluations to come) is checked
    against every config's curve so far. Returns {config: the evaluation it was pruned
    after}, {config: why}."""
    at: dict[int, int] = {}
    why: dict[int, Verdict] = {}
    for evaluation in range(1, max(map(len, full.values())) + 1):
        so_far = {k: h[: at.get(k, evaluation)] for k, h in full.items()}
        running = {k: so_far[k] for k in full if k not in at and len(full[k]) > evaluation}
        others = [so_far[k] for k in full if k not in running]
        for k, verdict in rule.verdicts(running, others, maximize=True).items():
            at[k], why[k] = evaluation, verdict
    return at, why


def test_a_wandb_sweep_file_with_early_terminate_prunes_what_the_rule_names(tmp_path):
    """The pruned run equals the unpruned one cut where W&B's rule says: each pruned
    config's curve is the unpruned curve up to its band, every other config is unchanged,
    and the study and the ranking say which were pruned."""
    data_dir = make_slice(tmp_path / "data")
    document = yaml.safe_load(SWEEP) | {
        "data": {"name": "emotion", "max_length": 24},
        "model": {"embedding_dim": 16, "hidden_size": 16, "architecture": "gru"},
        "train": {"epochs": 4},
    }
    runs = {}
    for name, et in (("full", None), ("pruned", document["early_terminate"])):
        spec = tmp_path / f"{name}.yaml"
        doc = {k: v for k, v in document.items() if k != "early_terminate"}
        if et is not None:
            doc["early_terminate"] = et
        spec.write_text(yaml.safe_dump(doc, sort_keys=False))
        out = tmp_path / name
        args = ["sweep", str(spec), "--data-dir", str(data_dir), "--out", str(out)]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        runs[name] = _records(out)
        printed = " ".join(result.output.split())
        assert ("configs compared at evaluations 1, 3, 9, 27, ..." in printed) == (et is not None)
        spent = sum(r["epochs_run"] for r in runs[name].values())
        assert all(r["evaluations_planned"] == 4 for r in runs[name].values())  # 4 epochs
        assert f"{spent} config-epochs of the {4 * len(runs[name])} their budgets hold" in printed
        summary = json.loads((out / "sweep.json").read_text())
        assert (summary["config_epochs"], summary["config_epochs_planned"]) == (
            spent,
            4 * len(runs[name]),
        )
    full, pruned = runs["full"], runs["pruned"]
    curves = {k: logged_values(r["history"], "val_accuracy") for k, r in full.items()}
    assert all(len(curves[k]) == len(r["history"]) for k, r in full.items())  # all finite
    at, why = _replay(HyperbandStopping.of(min_iter=1, eta=3), curves)
    assert at and len(at) < len(full)  # the rule prunes some configs, not all
    assert set(pruned) == set(full)
    for k, record in pruned.items():
        expected = full[k]["history"][: at.get(k, len(full[k]["history"]))]
        assert len(record["history"]) == len(expected), k
        for got, want in zip(record["history"], expected, strict=True):
            for metric in ("val_accuracy", "val_loss", "train_loss"):
                assert math.isclose(got[metric], want[metric], rel_tol=1e-6, abs_tol=1e-7)
        if k in at:
            verdict = why[k]
            assert record["status"] == "pruned"
            assert (
                f"band {verdict.band}'s threshold {verdict.threshold:.4g}"
                in (record["status_reason"])
            )
        else:
            assert record["status"] == full[k]["status"]

    storage = f"sqlite:///{tmp_path / 'pruned' / 'study.db'}"
    study = optuna.load_study(study_name="pruned", storage=storage)
    states = {t.user_attrs["jaxtune_trial_id"]: t for t in study.trials}
    for k in at:
        trial = states[k]
        assert trial.state == optuna.trial.TrialState.PRUNED
        assert list(trial.intermediate_values.values()) == pytest.approx(curves[k][: at[k]])
    ranked = rank(list(pruned.values()), "val_accuracy", "maximize")
    statuses = [r["status"] == "pruned" for r in ranked]
    assert statuses == sorted(statuses)  # every finished config ranks above the pruned
    result = runner.invoke(app, ["report", str(tmp_path / "pruned")])
    assert result.exit_code == 0, result.output
    assert "PRUNED: pruned by early_terminate" in (tmp_path / "pruned" / "report.md").read_text()
