"""method greedy: one hyperparameter at a time, the best value adopted, configs reused."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from jaxtune.cli import app
from jaxtune.layout import GREEDY_FILE
from jaxtune.report import write_report
from jaxtune.results import RESULTS_FILE, best_value, rank, read_results
from jaxtune.search.base import run_rounds
from jaxtune.search.greedy import GreedyRounds, GreedySearch, max_configs
from jaxtune.space import complete_config

runner = CliRunner()


def search(goal="maximize") -> GreedySearch:
    parameters = {"learning_rate": [0.001, 0.01, 0.1], "dropout": [0.0, 0.5]}
    return GreedySearch(parameters, complete_config({"learning_rate": 0.001}), "m", goal)


def fake_train(scores: dict[tuple, float | None], records: dict[int, dict]):
    """train() that gives each config the score its (learning_rate, dropout) maps to."""

    def train(trials):
        for trial in trials:
            key = (trial.config["learning_rate"], trial.config["dropout"])
            score = scores[key]
            records[trial.trial_id] = {
                "trial_id": trial.trial_id,
                "studies": list(trial.studies),
                "best": None if score is None else {"m": score},
            }

    return train


def run(scores, goal="maximize"):
    """The greedy search's rounds, driven as run_sweep drives them, on fake scores."""
    state, records, seen = search(goal), {}, []
    train = fake_train(scores, records)
    rounds = GreedyRounds(state, [], lambda _: None, lambda _, entry: seen.append(entry))

    def train_round(round_):
        for batch in round_.batches:
            train(batch)
            rounds.observe([records[trial.trial_id] for trial in batch])

    run_rounds(rounds, train_round, out_of_time=lambda: False)
    return state, records, seen


def test_adopts_a_better_value_and_reuses_the_current_config():
    scores = {
        (0.001, 0.0): 0.5,
        (0.01, 0.0): 0.7,  # adopted in iteration 1
        (0.1, 0.0): None,  # diverged: never the best
        (0.01, 0.5): 0.6,  # worse than the current config: dropout stays 0
    }
    state, records, path = run(scores)
    assert [e["hparam"] for e in path] == ["learning_rate", "dropout"]
    assert path[0]["adopted"] and path[0]["value"] == 0.01 and path[0]["score"] == 0.7
    assert not path[1]["adopted"] and path[1]["value"] == 0.0 and path[1]["score"] == 0.7
    assert len(records) == 4 == max_configs(state.parameters)  # (0.01, 0.0) trained once
    assert path[1]["trial_ids"] == [1, 3]  # the current config joins iteration 2 unretrained
    assert records[1]["studies"] == ["learning_rate", "dropout"]
    assert records[3]["studies"] == ["dropout"]
    assert state.current["learning_rate"] == 0.01
    assert state.path[0] == {"iteration": 0, "hparam": None, "trial_id": 0, "score": 0.5}


def test_a_tie_keeps_the_current_value_and_minimize_prefers_lower():
    tie = {
        **{(0.001, 0.0): 0.5, (0.01, 0.0): 0.5, (0.1, 0.0): 0.4},
        **{(0.001, 0.5): 0.5, (0.1, 0.5): 0.45},
    }
    _, _, path = run(tie)
    assert [e["adopted"] for e in path] == [False, False]
    _, _, path = run(tie, goal="minimize")
    assert path[0]["adopted"] and path[0]["value"] == 0.1
    assert path[-1]["score"] == 0.4


def write_spec(tmp_path, **extra):
    document = {
        "name": "greedy",
        "seed": 0,
        "method": "greedy",
        "metric": {"name": "val_accuracy", "goal": "maximize"},
        "data": {"train_size": 400, "val_size": 128, "test_size": 64, "max_length": 12},
        "model": {"embedding_dim": 16, "batch_size": 32, "architecture": "gru"},
        "train": {"epochs": 3},
        "parameters": {
            "learning_rate": {"values": [0.001, 0.01, 0.05], "baseline": 0.001},
            "hidden_size": {"values": [8, 16], "baseline": 16},  # shape-changing: 2 groups
        },
        **extra,
    }
    path = tmp_path / "greedy.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))  # search order = spec order
    return path


def test_greedy_sweep_from_the_cli_ends_at_the_best_config_it_trained(tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(app, ["sweep", str(write_spec(tmp_path)), "--out", str(out)])
    assert result.exit_code == 0, result.output
    records = read_results(out)
    assert len(records) == 4  # baseline + 2 learning rates + 1 other hidden size
    path = json.loads((out / GREEDY_FILE).read_text())
    assert [e["hparam"] for e in path] == [None, "learning_rate", "hidden_size"]
    best = rank(records, "val_accuracy", "maximize")[0]
    # Each iteration holds the current config, so the last score is the best of all.
    assert path[-1]["score"] == best_value(best, "val_accuracy")
    assert path[-1]["trial_id"] == best["trial_id"]
    for entry in path[1:]:
        members = [r for r in records if entry["hparam"] in r["studies"]]
        assert sorted(r["trial_id"] for r in members) == sorted(entry["trial_ids"])
        assert {r["hparams"][entry["hparam"]] for r in members} == set(entry["values"])
    scores = [e["score"] for e in path]
    assert scores == sorted(scores)  # the current config never gets worse

    written = write_report(out)
    figure = out / "figures" / "greedy_iterations.png"
    assert figure in written.figures and figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    markdown = written.markdown.read_text()
    section = markdown[markdown.index("## Tuning iterations") :]
    rows = [line for line in section.splitlines() if line.startswith("| ")][1:]
    rows = rows[1 : len(path) + 1]  # after the header's separator row
    assert [row.split("|")[2].strip() for row in rows] == [
        "baseline",
        "learning_rate",
        "hidden_size",
    ]
    verdicts = [row.split("|")[5].strip() for row in rows[1:]]
    assert verdicts == ["**adopted**" if e["adopted"] else "kept" for e in path[1:]]


def test_greedy_sweep_resumes_after_losing_its_last_iteration(tmp_path):
    spec = write_spec(tmp_path)
    out = tmp_path / "out"
    assert runner.invoke(app, ["sweep", str(spec), "--out", str(out)]).exit_code == 0
    expected = (out / RESULTS_FILE).read_text()
    path = (out / GREEDY_FILE).read_text()
    lines = expected.splitlines()
    kept = [line for line in lines if json.loads(line)["studies"] != ["hidden_size"]]
    assert len(kept) == len(lines) - 1
    (out / RESULTS_FILE).write_text("\n".join(kept) + "\n")  # as if killed in iteration 2
    (out / "sweep.json").unlink()
    result = runner.invoke(app, ["resume", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / RESULTS_FILE).read_text() == expected
    assert (out / GREEDY_FILE).read_text() == path


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"parameters": {}}, "parameters: method greedy needs at least one hyperparameter"),
        (
            {"budget": {"max_configs": 3}},
            "budget.max_configs: the greedy search trains up to 4 configs, above the cap of 3; "
            "raise the cap or sweep fewer values",
        ),
        (
            {"parameters": {"dropout": {"distribution": "uniform", "min": 0, "max": 0.5}}},
            "parameters.dropout.distribution: found uniform under method greedy; greedy takes "
            "value, values, int_uniform or q_uniform",
        ),
    ],
)
def test_bad_greedy_specs_are_one_line(tmp_path, extra, message):
    spec = write_spec(tmp_path, **extra)
    result = runner.invoke(app, ["sweep", str(spec), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert line.startswith(f"error: {spec}: {message}"), line
