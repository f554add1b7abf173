"""results.py: atomic JSON and JSON-lines files, best values, ranking, varying hparams."""

import json
import math

import pytest

from jaxtune.layout import RESULTS_FILE, RUN_FILE
from jaxtune.results import (
    best_value,
    rank,
    read_results,
    recorded_data_dir,
    varying_hparams,
    write_json,
    write_results,
)


def record(trial_id, accuracy=None, **hparams):
    """A minimal results.jsonl record; accuracy None: no best evaluation."""
    best = None if accuracy is None else {"epoch": 2, "val_accuracy": accuracy, "val_loss": 1.0}
    return {"trial_id": trial_id, "status": "completed", "hparams": hparams, "best": best}


def test_write_json_round_trips_with_sorted_keys_and_a_final_newline(tmp_path):
    document = {"zeta": [1, 2.5], "alpha": {"b": None, "a": True}}
    path = write_json(tmp_path / "doc.json", document)
    assert path == tmp_path / "doc.json"
    text = path.read_text(encoding="utf-8")
    assert json.loads(text) == document
    assert text.endswith("}\n")
    assert text.index('"alpha"') < text.index('"zeta"')
    assert text.index('"a"') < text.index('"b"')
    assert [p.name for p in tmp_path.iterdir()] == ["doc.json"]  # no temporary file left


def test_write_json_replaces_an_existing_file(tmp_path):
    path = tmp_path / "doc.json"
    path.write_text('{"old": 1, "long": "' + "x" * 200 + '"}')
    write_json(path, {"new": 2})
    assert json.loads(path.read_text()) == {"new": 2}


def test_recorded_data_dir_reads_run_json_or_gives_none(tmp_path):
    assert recorded_data_dir(tmp_path) is None  # no run.json
    (tmp_path / RUN_FILE).write_text(json.dumps({"storage": None}))
    assert recorded_data_dir(tmp_path) is None  # started without --data-dir
    (tmp_path / RUN_FILE).write_text(json.dumps({"data_dir": "/data/sst2"}))
    assert recorded_data_dir(str(tmp_path)) == "/data/sst2"


def test_write_results_writes_one_sorted_line_per_record_and_reads_back(tmp_path):
    records = [record(2, 0.5, lr=0.1), record(0, 0.7, lr=[3, 4]), record(1, None, lr=0.01)]
    path = write_results(tmp_path, records)
    assert path == tmp_path / RESULTS_FILE
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["trial_id"] for line in lines] == [0, 1, 2]
    assert read_results(tmp_path) == sorted(records, key=lambda r: r["trial_id"])
    assert sorted(p.name for p in tmp_path.iterdir()) == [RESULTS_FILE]


def test_write_results_replaces_the_previous_file_entirely(tmp_path):
    write_results(tmp_path, [record(i, 0.5) for i in range(4)])
    write_results(tmp_path, [record(9, 0.6)])
    assert [r["trial_id"] for r in read_results(tmp_path)] == [9]


def test_read_results_skips_blank_lines(tmp_path):
    lines = [json.dumps(record(0, 0.5)), "", "   ", json.dumps(record(1, 0.6)), ""]
    (tmp_path / RESULTS_FILE).write_text("\n".join(lines))
    assert [r["trial_id"] for r in read_results(tmp_path)] == [0, 1]


@pytest.mark.parametrize(
    "best",
    [None, {}, {"val_loss": 0.3}, {"val_accuracy": math.nan}, {"val_accuracy": math.inf}],
)
def test_best_value_is_none_without_a_finite_metric(best):
    assert best_value({"trial_id": 0, "best": best}, "val_accuracy") is None


def test_best_value_reads_the_metric_at_the_best_epoch():
    assert best_value(record(0, 0.625), "val_accuracy") == 0.625
    assert best_value({"trial_id": 0}, "val_accuracy") is None  # no "best" key at all


def test_rank_orders_by_goal_and_puts_unscored_trials_last_by_trial_id():
    records = [
        record(4, None),
        record(3, 0.6),
        record(1, math.nan),
        record(0, 0.9),
        record(2, 0.6),
    ]
    maximized = [r["trial_id"] for r in rank(records, "val_accuracy", "maximize")]
    assert maximized == [0, 2, 3, 1, 4]  # 2 before 3: equal scores by trial id
    minimized = [r["trial_id"] for r in rank(records, "val_accuracy", "minimize")]
    assert minimized == [2, 3, 0, 1, 4]
    assert [r["trial_id"] for r in records] == [4, 3, 1, 0, 2]  # the input is not reordered


def test_varying_hparams_lists_differing_names_in_record_order():
    records = [
        record(0, hidden_size=64, dropout=0.1, filter_sizes=[3, 4], optimizer="adam"),
        record(1, hidden_size=64, dropout=0.3, filter_sizes=[3, 4], optimizer="sgd"),
        record(2, hidden_size=64, dropout=0.1, filter_sizes=[2, 3], optimizer="adam"),
    ]
    assert varying_hparams(records) == ["dropout", "filter_sizes", "optimizer"]
    assert varying_hparams(records[:1]) == []
    assert varying_hparams([]) == []


def test_varying_hparams_tells_equal_looking_values_of_different_types_apart():
    records = [record(0, flag=True, size=1), record(1, flag=1, size=1)]
    assert varying_hparams(records) == ["flag"]  # true and 1 are different JSON values
