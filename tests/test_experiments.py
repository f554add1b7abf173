"""Every ready spec in experiments/ parses, and the studies have the configs they promise."""

from pathlib import Path

import pytest

from jaxtune.search.bayes import optuna_distributions
from jaxtune.search.samplers import sample
from jaxtune.space import static_signature
from jaxtune.spec import load_spec

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"


@pytest.mark.parametrize("path", sorted(EXPERIMENTS.rglob("*.yaml")), ids=lambda p: p.name)
def test_experiment_spec_parses_and_samples(path):
    spec = load_spec(path)
    if spec.method == "bayes":  # Optuna proposes the configs: every parameter is its space
        assert set(optuna_distributions(spec)) == {*spec.parameters, *spec.distributions}
        assert spec.run_cap
        return
    trials, _ = sample(spec)
    assert trials


def test_sst2_cnn_rnn_searches_both_cells_with_tpe_every_250_steps():
    spec = load_spec(EXPERIMENTS / "sst2_cnn_rnn.yaml")
    assert spec.data.name == "sst2" and spec.method == "bayes"
    assert spec.parameters["architecture"] == ["cnn", "rnn"]
    cnn = {"embedding_dim", "filter_sizes", "num_filters"}
    rnn = {"rnn_activation", "hidden_size", "num_layers", "max_length"}
    assert cnn | rnn | {"batch_size"} <= set(spec.parameters)
    rate = spec.distributions["learning_rate"]
    assert (rate.kind, rate.min, rate.max) == ("log_uniform_values", 1e-6, 1e-3)
    assert spec.train.eval_every == 250 and spec.train.early_stopping.restore_best


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


def test_lstm_sentiment_draws_single_and_stacked_lstms():
    spec = load_spec(EXPERIMENTS / "lstm_sentiment.yaml")
    assert spec.data.name == "sst2" and spec.method == "random" and spec.run_cap == 12
    assert spec.metric == "val_accuracy" and spec.goal == "maximize"
    assert spec.parameters["hidden_size"] == [32, 64, 128, (128, 64)]  # the list is one choice
    assert spec.parameters["embedding_dim"] == [50, 100, 200]
    assert {"learning_rate", "dropout", "recurrent_dropout"} <= {
        *spec.parameters,
        *spec.distributions,
    }
    trials, merged = sample(spec)
    assert len(trials) == 12 and merged == 0  # as the header says
    assert {t.config["architecture"] for t in trials} == {"lstm"}
    layers = {(t.config["hidden_size"], t.config["num_layers"]) for t in trials}
    assert ((128, 64), 2) in layers and any(n == 1 for _, n in layers)
    groups = {static_signature(t.config) for t in trials}
    assert len(groups) == 8  # the header's count of static groups (compiles)
