"""budget.time_limit: configs in training stop at their last evaluation; nothing new starts."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
import yaml
from support import configs, tiny_dataset
from typer.testing import CliRunner

from jaxtune.cli import app
from jaxtune.engine import Engine
from jaxtune.plan import plan_populations
from jaxtune.population.status import EarlyStopping
from jaxtune.search.samplers import Trial
from jaxtune.spec import SpecError, parse_spec

BASE = {"architecture": "gru", "hidden_size": 8, "embedding_dim": 8, "batch_size": 16, "epochs": 3}


@pytest.mark.parametrize(
    ("value", "seconds"), [(90, 90.0), ("90s", 90.0), ("45m", 2700.0), ("2h", 7200.0), (None, None)]
)
def test_time_limit_takes_seconds_or_a_duration(value, seconds):
    assert parse_spec({"budget": {"time_limit": value}}, "s.yaml").budget.time_limit == seconds


@pytest.mark.parametrize("value", ["soon", 0, -5, True, "5w"])
def test_a_bad_time_limit_is_one_line(value):
    with pytest.raises(SpecError) as error:
        parse_spec({"budget": {"time_limit": value}}, "s.yaml")
    assert str(error.value) == (
        "s.yaml: budget.time_limit: expected null, seconds or a duration such as 90s, 45m, "
        f"2h, found {value!r}"
    )


def test_past_the_deadline_every_active_config_stops_with_its_best_params():
    population = configs(BASE, [{"learning_rate": 0.01}, {"learning_rate": 0.003}])
    [plan] = plan_populations([Trial(i, c) for i, c in enumerate(population)], 8)
    engine = Engine(tiny_dataset(), seed=0, early_stopping=EarlyStopping(patience=None))
    full = engine.run(plan)
    cut = engine.run(plan, deadline=time.monotonic())  # already past: stop at evaluation 1
    for record, whole in zip(cut, full, strict=True):
        assert record["status"] == "stopped" and record["epochs_run"] == 1
        assert record["status_reason"] == (
            "stopped by budget.time_limit after evaluation 1; restored evaluation 1"
        )
        assert record["history"] == whole["history"][:1]  # the same run, cut short
        assert whole["status"] == "completed" and whole["epochs_run"] == 3


def test_a_sweep_past_its_time_limit_starts_no_further_population(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        yaml.safe_dump(
            {
                "name": "timed",
                "data": {"train_size": 160, "val_size": 32, "test_size": 16, "max_length": 8},
                "model": {"hidden_size": 8, "embedding_dim": 8},
                # The limit counts from the sweep's start: long enough for the first
                # population to start on a loaded CI machine (1 s was not, once), far
                # shorter than 20000 epochs of training.
                "train": {"epochs": 20000},
                "budget": {"time_limit": "10s"},
                "parameters": {
                    "architecture": {"values": ["gru", "lstm"]},  # two populations
                    "learning_rate": {"values": [0.01, 0.003]},
                },
            }
        )
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["sweep", str(spec), "--out", str(out)])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert {r["hparams"]["architecture"] for r in records} == {"gru"}  # lstm never started
    for record in records:
        assert record["status_reason"].startswith("stopped by budget.time_limit after evaluation")
        assert record["epochs_run"] < 20000
    summary = json.loads((out / "sweep.json").read_text())
    assert summary["time_limit_reached"] is True and summary["configs"] == 2
    assert np.isfinite(records[0]["best"]["val_accuracy"])
