"""Every ready spec in experiments/ parses, and the studies have the configs they promise."""

from pathlib import Path

import pytest

from jaxtune.samplers import sample
from jaxtune.spec import load_spec

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"


@pytest.mark.parametrize("path", sorted(EXPERIMENTS.rglob("*.yaml")), ids=lambda p: p.name)
def test_experiment_spec_parses_and_samples(path):
    spec = load_spec(path)
    trials, _ = sample(spec)
    assert trials


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_emotion_one_at_a_time_study(cell):
    spec = load_spec(EXPERIMENTS / f"emotion_{cell}_one_at_a_time.yaml")
    trials, merged = sample(spec)
    # baseline + (5-1) lr + (4-1) batch + (5-1) units + (5-1) dropout + (3-1) optimizer + 1 frozen
    assert len(trials) == 1 + 4 + 3 + 4 + 4 + 2 + 1 and merged == 0
    assert {t.config["architecture"] for t in trials} == {cell}
    baseline = trials[0]
    assert baseline.studies == tuple(spec.parameters)
    for trial in trials[1:]:
        [varied] = trial.studies
        differs = [n for n in spec.parameters if trial.config[n] != baseline.config[n]]
        assert differs == [varied]
