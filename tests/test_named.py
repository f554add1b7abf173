"""Named configs: run exactly as listed over the shared values, named in results and ranking."""

import json

import pytest
import yaml
from typer.testing import CliRunner

from jaxtune.cli import app
from jaxtune.search.samplers import sample
from jaxtune.spec import SpecError, parse_spec

runner = CliRunner()
NAMED = {
    "name": "named",
    "data": {"train_size": 200, "val_size": 64, "test_size": 16, "max_length": 10},
    "model": {"architecture": "gru", "embedding_dim": 8, "hidden_size": 8},
    "train": {"epochs": 1},
    "configs": {
        "careful": {"learning_rate": 1e-3},
        "bold": {"learning_rate": 3e-2, "units": 16, "lr_schedule": "plateau"},
        "same_as_careful": {"lr": 1e-3},
    },
}


def test_named_configs_are_the_trials_in_spec_order():
    spec = parse_spec(NAMED, "s.yaml")
    trials, merged = sample(spec)
    assert [t.name for t in trials] == ["careful", "bold", "same_as_careful"] and merged == 0
    assert trials[1].config["hidden_size"] == 16 and trials[1].config["lr_schedule"] == "plateau"
    assert trials[0].config["hidden_size"] == 8  # the shared model value
    assert trials[0].config == trials[2].config  # equal configs keep both names


@pytest.mark.parametrize(
    "change,message",
    [
        (
            {"parameters": {"dropout": {"values": [0.1, 0.2]}}},
            "configs: named configs run as listed; remove parameters (put shared values under "
            "model)",
        ),
        (
            {"method": "random", "run_cap": 2},
            "configs: named configs run as listed; found method random",
        ),
        (
            {"configs": {"a": {"learning_rat": 0.1}}},
            "configs.a.learning_rat: unknown hyperparameter 'learning_rat'; known: ",
        ),
        (
            {"configs": {"a": {"dropout": 1.5}}},
            "configs.a.dropout: expected a number in [0, 1), found 1.5",
        ),
        ({"configs": {"a": [1, 2]}}, "configs.a: expected a mapping, found [1, 2]"),
    ],
)
def test_bad_named_configs_are_one_line(change, message):
    with pytest.raises(SpecError) as error:
        parse_spec({**NAMED, **change}, "s.yaml")
    assert str(error.value).startswith(f"s.yaml: {message}")


def test_named_sweep_records_and_ranks_by_name(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(NAMED))
    out = tmp_path / "out"
    result = runner.invoke(app, ["sweep", str(spec), "--out", str(out)])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert sorted(r["name"] for r in records) == ["bold", "careful", "same_as_careful"]
    header = next(line for line in result.output.splitlines() if "┃ rank" in line)
    assert "name" in header
    for name in ("careful", "bold", "same_as_careful"):
        assert any(name in line for line in result.output.splitlines() if "│" in line)
