"""DIR/progress.jsonl (progress.py): one line per evaluation round, written as it ends."""

from __future__ import annotations

import json
import time

import yaml
from typer.testing import CliRunner

from jaxtune.cli import app
from jaxtune.engine import EpochReport
from jaxtune.progress import ProgressLog, read_progress

SPEC = {
    "name": "progress",
    "seed": 0,
    "method": "grid",
    "data": {"train_size": 120, "val_size": 32, "test_size": 32, "max_length": 10},
    "model": {"architecture": "gru", "embedding_dim": 8, "hidden_size": 8},
    "train": {"epochs": 2, "eval_every": 3},
    "parameters": {"batch_size": {"values": [16, 32]}, "learning_rate": {"values": [0.01, 0.1]}},
    "budget": {"merge": "none"},
}


def test_a_sweep_logs_every_round_of_every_population_as_it_ends(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(SPEC))
    began = time.time()
    result = CliRunner().invoke(app, ["sweep", str(spec), "--out", str(tmp_path / "s")])
    assert result.exit_code == 0, result.output
    lines = read_progress(tmp_path / "s")
    records = [json.loads(r) for r in (tmp_path / "s" / "results.jsonl").read_text().splitlines()]
    populations = sorted({line["population"] for line in lines})
    assert len(populations) == len({r["group"] for r in records}) == 2  # batch sizes apart
    times = [line["time"] for line in lines]
    assert began <= times[0] and times == sorted(times) and times[-1] <= time.time()
    for population in populations:
        mine = [line for line in lines if line["population"] == population]
        assert [line["round"] for line in mine] == list(range(1, mine[0]["rounds"] + 1))
        assert mine[-1]["active"] == 0 and mine[0]["width"] == 2
        # Its best so far, round by round, ends at the best of its configs' histories.
        bests = [line["best"] for line in mine]
        assert bests == sorted(bests)
        batch = 16 if population == populations[0] else 32
        histories = [
            h for r in records if r["hparams"]["batch_size"] == batch for h in r["history"]
        ]
        assert bests[-1] == max(h["val_accuracy"] for h in histories)
        # 120 examples, batch 16 or 32, 2 epochs, an evaluation every 3 steps.
        assert mine[0]["rounds"] == -(-2 * -(-120 // batch) // 3)


def test_a_torn_last_line_is_skipped_and_a_resumed_log_appends(tmp_path):
    times = iter([1.0, 2.0, 3.0])
    report = EpochReport(population=0, epoch=1, max_epochs=2, active=3, width=4, best_value=0.5)
    ProgressLog(tmp_path, clock=times.__next__).write(report)
    path = tmp_path / "progress.jsonl"
    with open(path, "a") as handle:
        handle.write('{"time": 1.5, "popul')  # a kill mid-write
    resumed = ProgressLog(tmp_path, clock=times.__next__)
    resumed.write(EpochReport(0, 2, 2, 0, 4, None))
    resumed.write(EpochReport(1, 1, 1, 0, 1, 0.75))
    lines = read_progress(tmp_path)
    assert [line["time"] for line in lines] == [1.0, 2.0, 3.0]
    assert lines[0] == {
        "time": 1.0, "population": 0, "round": 1, "rounds": 2, "active": 3, "width": 4,
        "best": 0.5,
    }  # fmt: skip
    assert lines[1]["best"] is None and lines[2]["population"] == 1
    assert read_progress(tmp_path / "missing") == []
