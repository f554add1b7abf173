"""`benchmarks/schedulers.py`: the two sweeps draw the same configs, the bar's arithmetic,
and (`-m slow`) --quick end to end on a slice: both sweeps, their comparison, JSON and
table."""

from __future__ import annotations

import json

import pytest
from data_slices import make_slice

from jaxtune.bench.schedulers import (
    ASHA,
    PBT,
    compare,
    compare_pbt,
    main,
    markdown,
    pbt_settings,
    quick_settings,
    sweep_spec,
)
from jaxtune.search.samplers import sample
from jaxtune.spec import parse_spec


def test_both_sweeps_draw_the_same_configs_and_only_one_prunes():
    settings = quick_settings(None)
    full, asha = (parse_spec(sweep_spec(settings, s)) for s in (None, ASHA))
    assert full.scheduler is None and asha.scheduler is not None
    assert full.train.early_stopping.patience is None  # every config trains fully
    assert full.budget.max_population == asha.budget.max_population == settings.slots
    assert [t.config for t in sample(full)[0]] == [t.config for t in sample(asha)[0]]


def test_the_bar_is_the_gap_in_points_and_the_share_of_config_epochs():
    full = {"best_val_accuracy": 0.90, "config_epochs": 100, "wall_seconds": 50.0}
    asha = {"best_val_accuracy": 0.896, "config_epochs": 38, "wall_seconds": 20.0}
    verdict = compare(full, asha)
    assert round(verdict["gap_points"], 6) == 0.4 and verdict["config_epoch_share"] == 0.38
    assert verdict["within_gap"] and verdict["within_share"] and verdict["wall_ratio"] == 0.4
    worse = compare(full, {**asha, "best_val_accuracy": 0.89, "config_epochs": 41})
    assert not worse["within_gap"] and not worse["within_share"]


@pytest.mark.slow  # two sweep processes, about a minute: the suite keeps under 15 minutes
def test_quick_run_end_to_end(tmp_path):
    data_dir = make_slice(tmp_path / "data")
    out = tmp_path / "results"
    main(["--quick", "--data-dir", str(data_dir), "--out", str(out), "--work", str(tmp_path)])
    document = json.loads((out / "asha_emotion.json").read_text())
    full, asha = document["runs"]["full"], document["runs"]["asha"]
    assert full["configs"] == asha["configs"] == 6
    assert full["config_epochs"] == full["config_epochs_planned"] == 18  # 6 configs x 3
    assert asha["pruned"] > 0 and asha["refilled"] > 0  # 6 configs stream through 2 slots
    assert asha["config_epochs"] < full["config_epochs"]
    assert asha["populations"] < full["populations"]
    assert "| asha |" in (out / "asha_emotion.md").read_text()


def test_the_table_names_both_sweeps_and_the_bar():
    settings = quick_settings(None)
    runs = {
        "full": {"best_val_accuracy": 0.9, "config_epochs": 18, "config_epochs_planned": 18},
        "asha": {"best_val_accuracy": 0.89, "config_epochs": 7, "config_epochs_planned": 18},
    }
    for run, wall in zip(runs.values(), (30.0, 12.0), strict=True):
        run |= {"wall_seconds": wall, "populations": 2, "pruned": 0, "refilled": 0}
    verdict = compare(runs["full"], runs["asha"])
    text = markdown(settings, runs, verdict, {"machine": "m", "date": "d"})
    assert "| full | 0.9000 | - | 18 | 18 | 30 | 2 | 0 | 0 |" in text
    assert "+1.00 points below the full sweep's (bar: at most 0.5: missed)" in text
    assert "with 39% of its config-epochs (bar: at most 40%: met) and 0.40x its wall" in text


def test_the_pbt_comparison_draws_16_configs_of_one_program_and_evolves_them():
    settings = pbt_settings(quick_settings(None))
    fixed, evolved = (parse_spec(sweep_spec(settings, s)) for s in (None, PBT))
    assert evolved.scheduler.perturbation_interval == 2
    assert [m.name for m in evolved.scheduler.mutations] == ["learning_rate", "dropout"]
    assert [t.config for t in sample(fixed)[0]] == [t.config for t in sample(evolved)[0]]
    full = {"best_val_accuracy": 0.90, "config_epochs": 48, "wall_seconds": 10.0}
    verdict = compare_pbt(full, {**full, "best_val_accuracy": 0.905, "wall_seconds": 11.0})
    assert verdict["at_least_best_fixed"] and verdict["equal_config_epochs"]
    assert round(verdict["gain_points"], 6) == 0.5


@pytest.mark.slow  # two sweep processes
def test_quick_pbt_run_end_to_end(tmp_path):
    data_dir = make_slice(tmp_path / "data")
    out = tmp_path / "results"
    args = ["--quick", "--pbt", "--data-dir", str(data_dir), "--out", str(out)]
    main([*args, "--work", str(tmp_path)])
    document = json.loads((out / "pbt_emotion.json").read_text())
    fixed, evolved = document["runs"]["full"], document["runs"]["pbt"]
    assert fixed["config_epochs"] == evolved["config_epochs"] == 6 * 3
    assert document["verdict"]["equal_config_epochs"]
    assert "# PBT vs. the same configs" in (out / "pbt_emotion.md").read_text()
