"""`benchmarks/custom_model.py`: the two runs' specs, the per-architecture summary and
the table."""

from __future__ import annotations

from pathlib import Path

import pytest

from jaxtune.bench.custom_model import markdown, study_spec, summarize
from jaxtune.spec import parse_spec

MODULE = "experiments.custom_model.attention_models"


def record(trial_id, architecture, value, lr=1e-3, rate=0.0):
    return {
        "trial_id": trial_id,
        "best": None if value is None else {"val_accuracy": value},
        "hparams": {"architecture": architecture, "learning_rate": lr, "attention_dropout": rate},
    }


def test_one_at_a_time_is_the_same_study_in_populations_of_one(monkeypatch):
    monkeypatch.chdir(Path(__file__).resolve().parents[1])  # where the module path is found
    together = parse_spec(study_spec(quick=True, mode="population"), "population.yaml")
    alone = parse_spec(study_spec(quick=True, mode="one at a time"), "alone.yaml")
    assert alone.budget.max_population == 1 and together.budget.max_population == "auto"
    assert together.parameters == alone.parameters
    full = parse_spec(study_spec(quick=False, mode="population"), "full.yaml")
    assert full.data.name == "emotion" and full.fixed["epochs"] == 8


def test_the_summary_compares_each_architecture_with_the_gru_and_the_two_runs():
    population = [
        record(0, f"{MODULE}:TransformerEncoder", 0.90, 3e-3, 0.2),
        record(1, f"{MODULE}:TransformerEncoder", 0.92, 1e-3, 0.0),
        record(2, "gru", 0.91),
        record(3, f"{MODULE}:AttentionBiGRU", None),  # failed: no best
    ]
    alone = [dict(r) for r in population]
    alone[1] = record(1, f"{MODULE}:TransformerEncoder", 0.9195, 1e-3, 0.0)
    runs = {
        "population": {
            "wall_seconds": 100.0,
            "records": population,
            "sweep": {"config_epochs": 8},
            "final": {"trial_id": 1, "test_accuracy": 0.9, "test_macro_f1": 0.8, "top": 1},
        },
        "one at a time": {"wall_seconds": 250.0, "records": alone, "sweep": {}, "final": None},
    }
    result = summarize(runs, quick=False)
    transformer = result["per_architecture"]["TransformerEncoder"]
    assert transformer["best_val_accuracy"] == 0.92 and transformer["trial_id"] == 1
    assert transformer["configs"] == 2
    assert transformer["vs_gru"] == pytest.approx(0.01)
    assert transformer["hparams"] == {"learning_rate": 1e-3, "attention_dropout": 0.0}
    assert result["per_architecture"]["AttentionBiGRU"]["best_val_accuracy"] is None
    assert result["speedup"] == 2.5
    assert result["max_best_val_accuracy_difference"] == pytest.approx(0.0005)
    assert result["compared_configs"] == 3
    assert result["final"] == {"trial_id": 1, "test_accuracy": 0.9, "test_macro_f1": 0.8}
    table = markdown(result)
    assert "| TransformerEncoder | 2 | 0.9200 | +0.0100 | 0.001, 0.0 |" in table
    assert "| AttentionBiGRU | 1 | - | - |" in table
    assert "2.50x as fast as one at a time" in table
