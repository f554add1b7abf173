"""report/analysis.py: a sweep directory read as plain data (effects, cell matches, throughput)."""

import json
import math

import pytest
import yaml
from support import RESOLVED_BY_HAND

from jaxtune.layout import FINAL_FILE, RESOLVED_FILE, RESULTS_FILE, SPEC_FILE, SWEEP_FILE
from jaxtune.report.analysis import (
    CellMatch,
    Effect,
    ReportError,
    Sweep,
    applies,
    applying,
    axis_scale,
    cell_matches,
    differing,
    distinct_values,
    effects,
    final_evaluation,
    json_document,
    load_sweep,
    non_defaults,
    study_records,
    throughput,
)
from jaxtune.results import rank, write_results

RESOLVED = RESOLVED_BY_HAND


def record(trial_id, score, studies=(), metric="val_accuracy", epochs_run=3, **hparams):
    """A results.jsonl record; score None: no finished evaluation."""
    return {
        "trial_id": trial_id,
        "studies": list(studies),
        "status": "failed" if score is None else "completed",
        "hparams": hparams,
        "epochs_run": epochs_run,
        "best": None if score is None else {"epoch": epochs_run, metric: score},
    }


def make_sweep(tmp_path, records, swept, metric="val_accuracy", goal="maximize", drawn=None):
    return Sweep(
        directory=tmp_path,
        name="hand",
        method="grid",
        metric=metric,
        goal=goal,
        records=rank(records, metric, goal),
        swept=swept,
        drawn=drawn or {},
    )


def sweep_directory(path, spec, records):
    path.mkdir(parents=True, exist_ok=True)
    (path / SPEC_FILE).write_text(yaml.safe_dump(spec, sort_keys=False))
    (path / RESOLVED_FILE).write_text(json.dumps(RESOLVED))
    write_results(path, records)
    return path


def test_load_sweep_reads_the_spec_ranks_and_finds_what_was_swept(tmp_path):
    spec = {
        "name": "drawn",
        "method": "random",
        "metric": {"name": "val_loss", "goal": "minimize"},
        "run_cap": 3,
        "parameters": {
            "learning_rate": {"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-2},
            "dropout": {"values": [0.0, 0.5]},
        },
    }
    records = [
        record(0, 0.5, metric="val_loss", learning_rate=1e-3, dropout=0.0, hidden_size=32),
        record(1, 0.3, metric="val_loss", learning_rate=2e-4, dropout=0.0, hidden_size=64),
        record(2, None, metric="val_loss", learning_rate=5e-3, dropout=0.0, hidden_size=64),
    ]
    sweep = load_sweep(sweep_directory(tmp_path / "s", spec, records))
    assert (sweep.name, sweep.method, sweep.metric, sweep.goal) == (
        "drawn",
        "random",
        "val_loss",
        "minimize",
    )
    assert [r["trial_id"] for r in sweep.records] == [1, 0, 2]  # lowest loss first
    assert sweep.drawn == {"learning_rate": "log_uniform_values"}
    # dropout took one value only; hidden_size varies although the spec does not name it.
    assert sweep.swept == ["learning_rate", "hidden_size"]
    assert [r["trial_id"] for r in sweep.scored] == [1, 0]
    assert not sweep.has_studies


def test_load_sweep_rejects_results_that_are_not_json_lines(tmp_path):
    directory = sweep_directory(tmp_path / "s", {"name": "x"}, [record(0, 0.5)])
    (directory / RESULTS_FILE).write_text('{"trial_id": 0}\n{broken\n')
    with pytest.raises(ReportError, match="not JSON lines") as error:
        load_sweep(directory)
    assert str(error.value).startswith(f"{directory / RESULTS_FILE}: ")
    (directory / RESULTS_FILE).write_text('{"trial_id": 0}\n')  # JSON, but no hparams
    with pytest.raises(ReportError, match="a line is not a result record"):
        load_sweep(directory)
    (directory / RESULTS_FILE).write_text("[1, 2]\n")
    with pytest.raises(ReportError, match="a line is not a result record"):
        load_sweep(directory)


def test_sweep_has_studies_when_any_record_names_one(tmp_path):
    records = [record(0, 0.5, dropout=0.0), record(1, 0.6, studies=["dropout"], dropout=0.5)]
    assert make_sweep(tmp_path, records, ["dropout"]).has_studies
    assert not make_sweep(tmp_path, records[:1], ["dropout"]).has_studies


def test_distinct_values_sorts_numbers_and_keeps_other_values_in_trial_order():
    records = [
        record(3, 0.5, lr=1e-2, cell="lstm", sizes=[3, 4], flag=False),
        record(1, 0.5, lr=1e-4, cell="gru", sizes=[2, 3], flag=True),
        record(2, 0.5, lr=1e-3, cell="gru", sizes=[2, 3], flag=True),
        record(0, 0.5, lr=1e-3, cell="rnn", sizes=[3, 4]),  # no flag: skipped for it
    ]
    assert distinct_values(records, "lr") == [1e-4, 1e-3, 1e-2]
    assert distinct_values(records, "cell") == ["rnn", "gru", "lstm"]  # by trial id
    assert distinct_values(records, "sizes") == [[3, 4], [2, 3]]
    assert distinct_values(records, "flag") == [True, False]  # bools are not numbers
    assert distinct_values(records, "absent") == []


@pytest.mark.parametrize(
    ("values", "distribution", "scale"),
    [
        ([2e-4, 3e-4], "log_uniform_values", "log"),  # under a decade, drawn on a log scale
        ([2e-4, 3e-4], "inv_log_uniform_values", "log"),
        ([1e-4, 1e-2], "uniform", "linear"),  # over a decade, drawn uniformly
        ([0.0, 1e-3], "log_normal", "linear"),  # a log kind, but 0 has no log
        ([1e-4, 1e-2], "categorical", "log"),  # a weighted value list: the ladder decides
        ([1e-4], "log_uniform_values", "categorical"),  # one value: nothing to scale
        (["adam", "sgd"], "categorical", "categorical"),
        ([-1.0, 1.0, 10.0], None, "linear"),  # a negative value: neither log nor symlog
        ([1, 5], None, "linear"),  # positive but under a decade
    ],
)
def test_axis_scale_follows_the_distribution_a_value_was_drawn_from(values, distribution, scale):
    assert axis_scale(values, distribution) == scale


def test_effect_finds_its_best_value_by_json_value():
    effect = Effect(
        name="hidden_size",
        values=[64, [128, 64], 32],
        scores=[0.8, 0.9, None],
        counts=[1, 2, 1],
        best=(128, 64),  # a tuple in a config, a list in the record: the same value
        spread=0.1,
        scale="categorical",
        study=False,
    )
    assert effect.best_index == 1
    assert effect.best_score == 0.9
    assert effect.finite_scores == [0.8, 0.9]


def test_effect_without_a_spread_has_no_best():
    effect = Effect("dropout", [0.0, 0.5], [None, None], [1, 1], None, None, "linear", False)
    assert effect.best_index is None and effect.best_score is None
    assert effect.finite_scores == []


def test_applies_knows_which_cell_types_use_a_hyperparameter():
    cnn = record(0, 0.5, architecture="cnn")
    gru = record(1, 0.5, architecture="gru")
    assert not applies(cnn, "hidden_size") and applies(gru, "hidden_size")
    assert applies(cnn, "filter_sizes") and not applies(gru, "filter_sizes")
    assert applies(cnn, "learning_rate") and applies(gru, "learning_rate")
    assert applies(cnn, "not_a_registry_name")
    assert applies(record(2, 0.5), "hidden_size")  # no cell type recorded
    assert applying([cnn, gru], "hidden_size") == [gru]


def test_study_records_uses_the_study_only_when_it_varies_the_name(tmp_path):
    records = [
        record(0, 0.8, studies=["learning_rate", "dropout"], learning_rate=1e-3, dropout=0.0),
        record(1, 0.7, studies=["learning_rate"], learning_rate=1e-2, dropout=0.0),
        record(2, 0.9, studies=["dropout"], learning_rate=1e-3, dropout=0.5),
        record(3, 0.6, studies=["hidden_size"], learning_rate=1e-3, dropout=0.0, hidden_size=8),
    ]
    sweep = make_sweep(tmp_path, records, ["learning_rate", "dropout", "hidden_size"])
    members, study = study_records(sweep, "learning_rate")
    assert study and sorted(r["trial_id"] for r in members) == [0, 1]
    # hidden_size's study holds one config (one value): every config shows its effect.
    members, study = study_records(sweep, "hidden_size")
    assert not study and sorted(r["trial_id"] for r in members) == [0, 1, 2, 3]


def test_study_records_leaves_out_cell_types_that_ignore_the_name(tmp_path):
    records = [
        record(0, 0.8, architecture="gru", hidden_size=32),
        record(1, 0.7, architecture="gru", hidden_size=64),
        record(2, 0.9, architecture="cnn", hidden_size=64),
    ]
    members, study = study_records(make_sweep(tmp_path, records, ["hidden_size"]), "hidden_size")
    assert not study and sorted(r["trial_id"] for r in members) == [0, 1]


def test_effects_of_a_minimized_metric_take_the_lowest_score_per_value(tmp_path):
    records = [
        record(0, 0.40, metric="val_loss", learning_rate=1e-4, dropout=0.0),
        record(1, 0.30, metric="val_loss", learning_rate=1e-4, dropout=0.5),
        record(2, 0.25, metric="val_loss", learning_rate=1e-2, dropout=0.0),
        record(3, None, metric="val_loss", learning_rate=1e-2, dropout=0.5),
        record(4, None, metric="val_loss", learning_rate=1e-3, dropout=0.5),
    ]
    drawn = {"learning_rate": "uniform"}
    sweep = make_sweep(
        tmp_path, records, ["learning_rate", "dropout"], "val_loss", "minimize", drawn
    )
    lr, dropout = effects(sweep)
    assert lr.values == [1e-4, 1e-3, 1e-2] and lr.counts == [2, 1, 2]
    assert lr.scores == [0.30, None, 0.25]  # 1e-3's only config failed
    assert lr.best == 1e-2 and lr.best_index == 2  # trial 2, the lowest loss
    assert lr.spread == pytest.approx(0.30 - 0.25)
    assert lr.scale == "linear"  # drawn uniformly, though the values span two decades
    assert dropout.values == [0.0, 0.5] and dropout.counts == [2, 3]
    assert dropout.scores == [0.25, 0.30] and dropout.best == 0.0
    assert not lr.study and not dropout.study


def test_effects_keep_the_score_of_the_only_value_that_finished(tmp_path):
    records = [record(0, 0.8, dropout=0.0), record(1, None, dropout=0.5)]
    [effect] = effects(make_sweep(tmp_path, records, ["dropout"]))
    assert effect.values == [0.0, 0.5]
    assert effect.scores == [0.8, None]  # 0.5's config failed; 0.0's finished at 0.8


def test_cell_matches_orders_cell_types_and_puts_the_best_group_first(tmp_path):
    records = [
        record(0, 0.50, metric="val_loss", architecture="lstm", learning_rate=1e-2),
        record(1, 0.40, metric="val_loss", architecture="gru", learning_rate=1e-2),
        record(2, 0.20, metric="val_loss", architecture="lstm", learning_rate=1e-3),
        record(3, 0.30, metric="val_loss", architecture="gru", learning_rate=1e-3),
        record(4, None, metric="val_loss", architecture="gru", learning_rate=1e-3),
        record(5, 0.10, metric="val_loss", architecture="lstm", learning_rate=1e-4),  # alone
    ]
    sweep = make_sweep(tmp_path, records, ["architecture", "learning_rate"], "val_loss", "minimize")
    cells, matches = cell_matches(sweep)
    assert cells == ["gru", "lstm"]  # jaxtune's order, not the records'
    assert [m.shared for m in matches] == [{"learning_rate": 1e-3}, {"learning_rate": 1e-2}]
    assert matches[0].scores == {"gru": 0.30, "lstm": 0.20}  # the lowest loss per cell type
    assert matches[0].trials == {"gru": [3, 4], "lstm": [2]}
    assert matches[1].scores == {"gru": 0.40, "lstm": 0.50}


def test_cell_matches_score_is_none_when_a_cell_types_configs_all_failed(tmp_path):
    records = [
        record(0, 0.8, architecture="cnn", dropout=0.0),
        record(1, None, architecture="rnn", dropout=0.0),
    ]
    cells, [match] = cell_matches(make_sweep(tmp_path, records, ["architecture", "dropout"]))
    assert cells == ["rnn", "cnn"]
    assert match.scores == {"rnn": None, "cnn": 0.8}
    assert match.trials == {"rnn": [1], "cnn": [0]}


def test_cell_matches_with_one_cell_type_has_nothing_to_match(tmp_path):
    records = [record(0, 0.8, architecture="lstm", dropout=0.0), record(1, 0.7, dropout=0.5)]
    records[1]["hparams"]["architecture"] = "lstm"
    assert cell_matches(make_sweep(tmp_path, records, ["dropout"])) == (["lstm"], [])


def test_differing_names_only_values_that_change_between_groups():
    matches = [
        CellMatch({"learning_rate": 1e-3, "dropout": 0.1}, {}, {}),
        CellMatch({"learning_rate": 1e-2, "dropout": 0.1}, {}, {}),
    ]
    assert differing(matches) == ["learning_rate"]
    assert differing(matches[:1]) == []
    assert differing([]) == []


def test_non_defaults_compares_with_the_registry_defaults():
    hparams = {
        "architecture": "gru",  # the default
        "filter_sizes": [3, 4, 5],  # the default tuple, as JSON writes it
        "learning_rate": 0.01,
        "dropout": 0.0,
        "clip_norm": 1.0,  # default None
        "not_a_registry_name": 5,
    }
    assert non_defaults(hparams) == {"learning_rate", "clip_norm"}


def test_throughput_without_sweep_json_counts_configs_and_epochs(tmp_path):
    records = [record(0, 0.5, epochs_run=3), record(1, None, epochs_run=1)]
    records.append({**record(2, None), "epochs_run": None})
    found = throughput(make_sweep(tmp_path, records, []))
    assert (found.configs, found.config_epochs) == (3, 4)
    assert found.seconds is None and found.config_epochs_per_second is None
    assert found.details == {}


def test_throughput_reads_seconds_and_keeps_the_other_details(tmp_path):
    document = {
        "name": "hand",
        "seconds": 8,
        "configs": 99,  # results.jsonl decides these, not sweep.json
        "config_epochs": 99,
        "populations": 2,
        "backend": "cpu",
    }
    (tmp_path / SWEEP_FILE).write_text(json.dumps(document))
    records = [record(0, 0.5, epochs_run=4), record(1, 0.6, epochs_run=2)]
    found = throughput(make_sweep(tmp_path, records, []))
    assert (found.configs, found.config_epochs) == (2, 6)
    assert found.seconds == 8.0 and isinstance(found.seconds, float)
    assert found.config_epochs_per_second == pytest.approx(6 / 8)
    assert found.details == {"populations": 2, "backend": "cpu"}


@pytest.mark.parametrize("seconds", [math.nan, "12", True, None, 0])
def test_throughput_has_no_rate_without_a_positive_finite_time(tmp_path, seconds):
    (tmp_path / SWEEP_FILE).write_text(json.dumps({"seconds": seconds}))
    found = throughput(make_sweep(tmp_path, [record(0, 0.5)], []))
    assert found.config_epochs_per_second is None
    assert found.seconds in (None, 0.0)


def test_json_document_is_none_when_absent_and_one_line_when_bad(tmp_path):
    path = tmp_path / "doc.json"
    assert json_document(path) is None
    path.write_text("{oops")
    with pytest.raises(ReportError, match=r"not JSON") as error:
        json_document(path)
    assert str(error.value).startswith(f"{path}: ") and "\n" not in str(error.value)
    path.write_text("[1, 2]")
    with pytest.raises(ReportError, match=r"expected a JSON object, found list$"):
        json_document(path)
    assert json_document(path, list) == [1, 2]
    path.write_text('{"a": 1}')
    with pytest.raises(ReportError, match=r"expected a JSON list, found dict$"):
        json_document(path, list)


def test_final_evaluation_reads_final_json(tmp_path):
    sweep = make_sweep(tmp_path, [record(0, 0.5)], [])
    assert final_evaluation(sweep) is None
    (tmp_path / FINAL_FILE).write_text(json.dumps({"trial_id": 0, "test_accuracy": 0.75}))
    assert final_evaluation(sweep) == {"trial_id": 0, "test_accuracy": 0.75}
