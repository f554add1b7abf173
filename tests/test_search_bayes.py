"""method bayes: Optuna's sampler with batched ask/tell, one round trained as populations."""

import json

import optuna
import pytest
import yaml
from typer.testing import CliRunner

from jaxtune.cli import app
from jaxtune.spec import SpecError, parse_spec
from jaxtune.study import STUDY_FILE

runner = CliRunner()
DATA = {"train_size": 200, "val_size": 64, "test_size": 16, "max_length": 10}


def bayes_spec(**extra):
    return {
        "name": "tpe_test",
        "method": "bayes",
        "run_cap": 6,
        "data": DATA,
        "model": {"architecture": "gru", "embedding_dim": 8},
        "train": {"epochs": 2},
        "budget": {"ask_batch": 3},
        "parameters": {
            "learning_rate": {"distribution": "log_uniform_values", "min": 1e-3, "max": 1e-1},
            "hidden_size": {"values": [4, 8]},
            "dropout": {"min": 0.0, "max": 0.5},
        },
        **extra,
    }


def test_bayes_asks_a_round_trains_it_and_tells_before_the_next(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(bayes_spec()))
    out = tmp_path / "out"
    result = runner.invoke(app, ["sweep", str(spec), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "TPESampler: round of 3 configs (3/6)" in result.output
    assert "TPESampler: round of 3 configs (6/6)" in result.output
    records = {
        r["trial_id"]: r for r in map(json.loads, (out / "results.jsonl").read_text().splitlines())
    }
    study = optuna.load_study(study_name="tpe_test", storage=f"sqlite:///{out / STUDY_FILE}")
    assert sorted(records) == [t.number for t in study.trials] == list(range(6))
    for trial in study.trials:
        record = records[trial.number]
        assert trial.state == optuna.trial.TrialState.COMPLETE
        assert trial.value == record["best"]["val_accuracy"]
        assert trial.intermediate_values == {
            h["epoch"]: h["val_accuracy"] for h in record["history"]
        }
        assert 1e-3 <= trial.params["learning_rate"] <= 1e-1
        assert trial.params["learning_rate"] == record["hparams"]["learning_rate"]
        assert trial.params["hidden_size"] == record["hparams"]["hidden_size"]
        assert 0.0 <= record["hparams"]["dropout"] <= 0.5
    # Batched: the first round was told before the second was asked.
    first, second = study.trials[:3], study.trials[3:]
    assert max(t.datetime_complete for t in first) <= min(t.datetime_start for t in second)


@pytest.mark.parametrize(
    "change,message",
    [
        (
            {"parameters": {"dropout": {"distribution": "normal", "mu": 0.2, "sigma": 0.1}}},
            "parameters.dropout.distribution: found normal under method bayes; bayes takes "
            "value, values, uniform, log_uniform_values, log_uniform, int_uniform, q_uniform",
        ),
        (
            {"parameters": {"optimizer": {"values": ["adam", "sgd"], "probabilities": [0.5, 0.5]}}},
            "parameters.optimizer.probabilities: found under method bayes; probabilities weight "
            "the draws of method random",
        ),
        (
            {"optuna": {"sampler": "MagicSampler"}},
            "optuna.sampler: expected one of TPESampler, RandomSampler, CmaEsSampler, GPSampler, "
            "QMCSampler, NSGAIISampler, found 'MagicSampler'",
        ),
    ],
)
def test_bad_bayes_specs_are_one_line(change, message):
    document = {**bayes_spec(), **change}
    with pytest.raises(SpecError) as error:
        parse_spec(document, "s.yaml")
    assert str(error.value) == f"s.yaml: {message}"


def test_wandb_docs_bayes_sweep_runs_from_the_cli(tmp_path):
    """docs.wandb.ai's sweep YAML verbatim, plus jaxtune-only sections for a fast run."""
    from support import WANDB_DOCS_SWEEP
    from typer.testing import CliRunner

    from jaxtune.cli import app

    spec = tmp_path / "sweep.yaml"
    spec.write_text(
        WANDB_DOCS_SWEEP
        + "data: {train_size: 160, val_size: 64, test_size: 16, max_length: 8}\n"
        + "model: {hidden_size: 8, embedding_dim: 8}\n"
        + "budget: {max_configs: 4}\n"
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["sweep", str(spec), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "program: ignored (jaxtune runs the sweep itself)" in " ".join(result.output.split())
    study = optuna.load_study(study_name="sweepdemo", storage=f"sqlite:///{out / 'study.db'}")
    assert study.direction == optuna.study.StudyDirection.MINIMIZE
    assert len(study.trials) == 4
    for trial in study.trials:
        assert set(trial.params) == {"learning_rate", "batch_size", "epochs", "optimizer"}
        assert 0.0001 <= trial.params["learning_rate"] <= 0.1
        if trial.state == optuna.trial.TrialState.COMPLETE:
            assert trial.value == trial.user_attrs["best"]["val_loss"]


def test_freed_slots_defer_at_most_a_round_of_configs_their_program_cannot_run():
    """BayesRefill: an ask that does not fit the population waits for the next round;
    once ask_batch of them wait, a freed slot asks no more, and the next round holds them."""
    from jaxtune.search.bayes import ROUND_ATTR, BayesSearch, optuna_distributions

    spec = parse_spec(bayes_spec(run_cap=20))
    study = optuna.create_study(direction="maximize")
    search = BayesSearch(spec, study, optuna_distributions(spec), [])
    first = search.propose()
    assert [t.trial_id for t in first.batches[0]] == [0, 1, 2]
    refill = search.supply(0)
    assert [refill.take(lambda config: False) for _ in range(6)] == [None] * 6
    assert [t.user_attrs.get(ROUND_ATTR) for t in study.trials] == [0, 0, 0, 1, 1, 1]
    taken = refill.take(lambda config: True)  # a config the population runs: none asked
    assert taken is None and len(study.trials) == 6
    assert [t.trial_id for t in search.propose().batches[0]] == [3, 4, 5]
