"""Seed replicates (`repeats: N`): each repeat equals its config trained alone with its
own seed, means and stds are right on a hand-made case, and a repeated sweep is one
population whose console, report and Optuna study show each config's mean."""

from __future__ import annotations

import json
import re

import numpy as np
import optuna
import pytest
import yaml
from support import configs, train
from typer.testing import CliRunner

from jaxtune.cli import app
from jaxtune.replicates import REPEAT, Summary, expand, summaries, within_noise
from jaxtune.results import rank
from jaxtune.search.samplers import Trial
from jaxtune.spec import SpecError, parse_spec

runner = CliRunner()
BASE = {"architecture": "gru", "hidden_size": 8, "embedding_dim": 8, "batch_size": 32}


def test_each_replicate_equals_its_config_trained_alone_with_its_seed():
    [config] = configs(BASE, [{"learning_rate": 1e-2, "dropout": 0.2}])
    replicas = expand([Trial(1, config)], 3)  # config index 1: trial ids 3, 4, 5
    assert [t.trial_id for t in replicas] == [3, 4, 5]
    assert [t.config[REPEAT] for t in replicas] == [0, 1, 2]
    _, together = train([t.config for t in replicas], epochs=2, trial_ids=[3, 4, 5])
    for k, replica in enumerate(replicas):
        _, alone = train([replica.config], epochs=2, trial_ids=[replica.trial_id])
        for epoch in range(2):
            for name, values in together[epoch].items():
                np.testing.assert_allclose(values[k], alone[epoch][name][0], rtol=1e-5, atol=1e-6)
    losses = {round(float(v), 6) for v in together[-1]["train_loss"]}
    assert len(losses) == 3  # each repeat its own seed: three different runs


def record(trial_id, lr, repeat, value):
    return {
        "trial_id": trial_id,
        "status": "completed",
        "hparams": {"learning_rate": lr, REPEAT: repeat},
        "best": {"val_accuracy": value},
    }


def test_means_stds_noise_and_ranking_on_a_hand_made_case():
    values = {0.1: [0.8, 0.9, 1.0], 0.2: [0.85, 0.85, 0.85], 0.3: [0.5, 0.6, 0.7]}
    records = [
        record(i * 3 + r, lr, r, v)
        for i, (lr, seeds) in enumerate(values.items())
        for r, v in enumerate(seeds)
    ]
    found = list(summaries(records, "val_accuracy").values())
    assert [s.mean for s in found] == pytest.approx([0.9, 0.85, 0.6])
    assert [s.std for s in found] == pytest.approx([0.1, 0.0, 0.1])  # sample std
    best = found[0]
    assert within_noise(found[1], best) and not within_noise(found[2], best)
    assert Summary((0,), (None,)).mean is None
    ranked = [r["trial_id"] for r in rank(records, "val_accuracy", "maximize")]
    assert ranked == [2, 1, 0, 3, 4, 5, 8, 7, 6]  # by config mean, then each seed's own


def sweep(tmp_path, **top):
    """A 2 x 2 grid on the tiny task with the `top` keys, through the CLI: (out, output)."""
    document = {
        "name": "repeats",
        "data": {"train_size": 160, "val_size": 48, "test_size": 16, "max_length": 10},
        "model": {**BASE, "epochs": 2},
        "parameters": {
            "learning_rate": {"values": [3e-3, 3e-2]},
            "dropout": {"values": [0.0, 0.2]},
        },
        **top,
    }
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(document, sort_keys=False))
    out = tmp_path / "out"
    result = runner.invoke(app, ["sweep", str(spec), "--out", str(out), "--wandb", "disabled"])
    assert result.exit_code == 0, result.output
    return out, result


def test_a_repeated_sweep_is_one_population_with_means_in_console_report_and_study(tmp_path):
    out, result = sweep(tmp_path, repeats=3)
    assert "population 0: width 12" in result.output and "population 1" not in result.output
    assert "config mean ± std" in result.output
    records = [json.loads(line) for line in (out / "results.jsonl").open()]
    assert len(records) == 12
    assert runner.invoke(app, ["report", str(out)]).exit_code == 0
    section = (out / "report.md").read_text().split("## Seed replicates", 1)[1].split("\n## ")[0]
    rows = re.findall(
        r"^\| (\d) \| [^|]+ \| [^|]+ \| ([\d.]+) ± ([\d.]+) \| ([^|]+) \|", section, re.M
    )
    assert len(rows) == 4
    means = []
    for _, mean, std, seeds in rows:
        seeds = [float(v) for v in seeds.split(",")]
        assert float(mean) == pytest.approx(np.mean(seeds), abs=6e-5)
        assert float(std) == pytest.approx(np.std(seeds, ddof=1), abs=6e-5)
        means.append(float(mean))
    assert means == sorted(means, reverse=True)
    # final (and export) read a repeat's config back: the best config's best seed, once.
    final = runner.invoke(app, ["final", str(out)])
    assert final.exit_code == 0, final.output
    best = rank(records, "val_accuracy", "maximize")[0]
    assert json.loads((out / "final.json").read_text())["trial_id"] == best["trial_id"]
    study = optuna.load_study(study_name="repeats", storage=f"sqlite:///{out / 'study.db'}")
    assert len(study.trials) == 4  # one trial per config, its value the mean
    for trial in study.trials:
        assert trial.value == pytest.approx(np.mean(trial.user_attrs["seed_values"]))
        assert len(trial.user_attrs["replicate_trial_ids"]) == 3


def test_repeats_need_a_method_whose_configs_the_spec_fixes():
    with pytest.raises(SpecError, match="repeats: seed replicates repeat the configs of grid"):
        parse_spec({"name": "b", "method": "bayes", "repeats": 2, "run_cap": 4}, "b.yaml")
    with pytest.raises(SpecError, match=r"repeats: expected an integer in \[1, 1000\]"):
        parse_spec({"name": "g", "repeats": 0}, "g.yaml")


def test_greedy_adopts_by_the_mean_of_each_configs_repeats(tmp_path):
    out, _ = sweep(tmp_path, method="greedy", repeats=2)
    by_id = {r["trial_id"]: r for r in map(json.loads, (out / "results.jsonl").open())}
    path = json.loads((out / "greedy.json").read_text())
    for entry in path[1:]:
        for config_id, score in zip(entry["trial_ids"], entry["scores"], strict=True):
            seeds = [by_id[config_id * 2 + r]["best"]["val_accuracy"] for r in (0, 1)]
            assert score == pytest.approx(np.mean(seeds))
        best = entry["scores"].index(max(entry["scores"]))
        assert entry["best_value"] == entry["values"][best]
    assert len(by_id) == 2 * 3  # 3 configs (the baseline shared by both iterations) x 2
