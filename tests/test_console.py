"""console.py: what the terminal shows: notices, data report lines, the plan, progress, ranking.

test_cli.py checks the ranking's order and cells; this file checks the rest.
"""

import io
import math

from rich.console import Console

from jaxtune.console import RichDisplay
from jaxtune.engine import EpochReport
from jaxtune.plan import PopulationPlan
from jaxtune.search.greedy import max_configs
from jaxtune.search.samplers import Trial
from jaxtune.space import complete_config
from jaxtune.spec import parse_spec

MIB = 2**20


def display() -> tuple[RichDisplay, io.StringIO]:
    buffer = io.StringIO()
    return RichDisplay(Console(file=buffer, width=200)), buffer


class Estimate:
    """A stand-in MemoryEstimate: `per_slot` bytes for each compiled slot."""

    def __init__(self, per_slot):
        self.per_slot = per_slot

    def population_bytes(self, slots, concurrent):
        return self.per_slot * slots


def plan_of(group, configs, padded_width=None, per_slot=MIB, chunk=1):
    trials = tuple(Trial(i, complete_config(c)) for i, c in enumerate(configs))
    return PopulationPlan(
        group=group,
        trials=trials,
        estimate=Estimate(per_slot),
        chunk=chunk,
        padded_width=padded_width,
    )


def test_a_notice_is_one_line_marked_as_such():
    shown, buffer = display()
    shown.notice("budget.max_population: lowered to 8")
    assert buffer.getvalue() == "notice: budget.max_population: lowered to 8\n"


def test_data_report_lines_are_printed_verbatim_without_markup():
    class Report:
        def lines(self):
            return ["labels [bold]a[/bold], [b]", "sizes: {'train': 3}"]

    shown, buffer = display()
    shown.data(Report())
    assert buffer.getvalue().splitlines() == Report().lines()


def test_the_plan_counts_configs_groups_populations_and_programs():
    spec = parse_spec({"name": "demo", "method": "grid"}, "demo.yaml")
    gru = {"architecture": "gru", "hidden_size": 32}
    cnn = {"architecture": "cnn", "num_filters": 16, "filter_sizes": [2, 3]}
    plans = [
        plan_of(0, [gru] * 3, padded_width=4, per_slot=3 * MIB),
        plan_of(0, [gru] * 3, padded_width=4, per_slot=3 * MIB),
        plan_of(1, [cnn] * 2, per_slot=MIB * 1024),  # 2 slots of 1 GiB
    ]
    shown, buffer = display()
    shown.plan(spec, plans, merged=5)
    shown.close()
    lines = buffer.getvalue().splitlines()
    assert lines[0] == (
        "demo: 8 configs (5 duplicate combinations merged) in 2 static group(s), "
        "3 population(s); metric val_accuracy (maximize)"
    )
    # Equal (group, slots) share one program; the largest population is the CNN's 2 GiB.
    assert lines[1] == (
        "  2 program(s) to compile; largest population needs ~2.0 GiB (estimated); "
        "each step computes 1 config(s) at a time"
    )
    assert lines[2].startswith("  population 0: width 3 (+1 inactive padding), ~12 MiB  gru ")
    assert lines[4].startswith("  population 2: width 2, ~2.0 GiB  cnn ")
    # Each population names the static hyperparameters its architecture reads, no others.
    assert "hidden_size=32" in lines[2] and "num_filters" not in lines[2]
    assert "num_filters=16" in lines[4] and "filter_sizes=[2,3]" in lines[4]
    assert "hidden_size" not in lines[4] and "architecture=" not in lines[4]


def test_an_unchunked_plan_computes_all_configs_at_once():
    spec = parse_spec({"name": "demo"}, "demo.yaml")
    shown, buffer = display()
    shown.plan(spec, [plan_of(0, [{}], chunk=None)], merged=0)
    shown.close()
    lines = buffer.getvalue().splitlines()
    assert "merged" not in lines[0]
    assert lines[1].endswith("each step computes all configs at once")


def test_a_bayes_plan_states_the_rounds_not_populations():
    spec = parse_spec(
        {
            "name": "tpe",
            "method": "bayes",
            "run_cap": 12,
            "metric": {"name": "val_loss", "goal": "minimize"},
            "budget": {"ask_batch": 4},
            "parameters": {"learning_rate": {"min": 0.001, "max": 0.1}},
        },
        "tpe.yaml",
    )
    shown, buffer = display()
    shown.plan(spec, [], merged=0)
    shown.close()
    assert buffer.getvalue().splitlines()[0] == (
        "tpe: TPESampler proposes 12 configs, 4 per round, each round trained as "
        "populations; metric val_loss (minimize)"
    )
    assert shown.metric == "val_loss"


def test_a_greedy_plan_states_its_most_configs():
    parameters = {"learning_rate": [0.001, 0.01, 0.1], "dropout": [0.0, 0.5]}
    spec = parse_spec(
        {
            "name": "walk",
            "method": "greedy",
            "parameters": {n: {"values": v} for n, v in parameters.items()},
        },
        "walk.yaml",
    )
    shown, buffer = display()
    shown.plan(spec, [], merged=0)
    shown.close()
    assert buffer.getvalue().splitlines()[0] == (
        f"walk: greedy coordinate search over learning_rate, dropout; up to "
        f"{max_configs(parameters)} configs, each iteration trained as populations; "
        "metric val_accuracy (maximize)"
    )


def test_epoch_progress_tracks_each_population_and_its_best_value():
    spec = parse_spec({"name": "demo"}, "demo.yaml")
    shown, _ = display()
    shown.plan(spec, [plan_of(0, [{}] * 4)], merged=0)
    shown.epoch(
        EpochReport(
            population=0,
            epoch=2,
            max_epochs=10,
            active=3,
            width=4,
            best_value=0.5,
            statuses={"running": 3, "stopped": 0, "failed": 1},
        )
    )
    shown.epoch(
        EpochReport(population=1, epoch=1, max_epochs=5, active=2, width=2, best_value=None)
    )
    first, second = (shown.progress.tasks[shown.tasks[p]] for p in (0, 1))
    assert (first.completed, first.total) == (2, 10)
    assert first.fields["status"] == "3/4 active (1 failed)  best val_accuracy 0.5000"
    assert (second.completed, second.total) == (1, 5)
    assert second.fields["status"] == "2/2 active  "
    shown.population_done(0)  # early stopping ended it before max_epochs: the bar fills
    shown.population_done(7)  # a population never reported is ignored
    assert first.completed == 10 and second.completed == 1
    shown.close()


def test_close_without_a_plan_is_harmless():
    shown, buffer = display()
    shown.close()
    assert buffer.getvalue() == ""


def record(trial_id, accuracy, hidden_size, learning_rate, name=None):
    return {
        "trial_id": trial_id,
        "name": name,
        "status": "completed",
        "hparams": {"hidden_size": hidden_size, "learning_rate": learning_rate},
        "best_epoch": 1,
        "best": {"val_accuracy": accuracy, "val_loss": 0.5},
    }


def body_rows(text):
    return [
        [cell.strip() for cell in line.split("│")[1:-1]]
        for line in text.splitlines()
        if line.startswith("│")
    ]


def test_the_ranking_is_cut_at_its_limit_and_says_how_many_more():
    records = [record(k, 0.9 - k / 10, [8, 4], 0.01 * (k + 1)) for k in range(5)]
    shown, buffer = display()
    shown.ranking(records, "val_accuracy", limit=3)
    text = buffer.getvalue()
    assert [row[1] for row in body_rows(text)] == ["0", "1", "2"]
    assert text.rstrip().endswith("(2 more in results.jsonl)")


def test_the_ranking_formats_lists_nan_and_names():
    records = [
        record(0, 0.8, [64, 32], math.nan, name="wide"),
        record(1, 0.7, 16, 0.000123456),
    ]
    shown, buffer = display()
    shown.ranking(records, "val_accuracy")
    rows = body_rows(buffer.getvalue())
    # rank, trial, name, hidden_size, learning_rate, val_accuracy, ...
    assert rows[0][:5] == ["1", "0", "wide", "[64,32]", "nan"]
    assert rows[1][:5] == ["2", "1", "-", "16", f"{0.000123456:.4g}"]
    assert "more in results.jsonl" not in buffer.getvalue()


def header_cells(text):
    [line] = [line for line in text.splitlines() if line.startswith("┃")]
    return [cell.strip() for cell in line.split("┃")[1:-1]]


def ctc_record(trial_id, char_accuracy, learning_rate):
    return {
        "trial_id": trial_id,
        "status": "completed",
        "hparams": {"learning_rate": learning_rate},
        "best_epoch": 2,
        "best": {
            "val_loss": 2 - char_accuracy,
            "val_char_accuracy": char_accuracy,
            "val_cer": 1 - char_accuracy,
            "val_sequence_accuracy": char_accuracy - 0.5,
        },
    }


def test_a_ctc_ranking_shows_the_tasks_metrics_the_sweeps_first():
    records = [ctc_record(3, 0.875, 0.01), ctc_record(1, 0.75, 0.1)]  # ranked by val_cer
    shown, buffer = display()
    shown.ranking(records, "val_cer", task="ctc")
    text = buffer.getvalue()
    assert "ranking by val_cer" in text
    assert header_cells(text) == [
        "rank",
        "trial",
        "learning_rate",
        "val_cer",
        "val_loss",
        "val_char_accuracy",
        "val_sequence_accuracy",
        "best epoch",
        "status",
    ]
    assert body_rows(text) == [
        ["1", "3", "0.01", "0.1250", "1.1250", "0.8750", "0.3750", "2", "completed"],
        ["2", "1", "0.1", "0.2500", "1.2500", "0.7500", "0.2500", "2", "completed"],
    ]


def test_the_ranking_takes_its_metric_columns_from_the_planned_specs_task():
    spec = parse_spec(
        {
            "name": "tags",
            "task": "tag",
            "method": "greedy",
            "model": {"architecture": "gru"},
            "parameters": {"learning_rate": {"values": [0.01, 0.1]}},
        },
        "tags.yaml",
    )
    shown, buffer = display()
    shown.plan(spec, [], merged=0)
    shown.close()
    assert shown.metric == "val_token_accuracy"
    record_ = ctc_record(0, 0.5, 0.01)
    record_["best"] = {
        "val_loss": 0.25,
        "val_token_accuracy": 0.875,
        "val_sequence_accuracy": 0.5,
        "val_macro_f1": 0.625,
    }
    shown.ranking([record_], shown.metric)
    text = buffer.getvalue().split("ranking by", 1)[1]
    assert header_cells(text)[2:6] == [
        "val_token_accuracy",
        "val_loss",
        "val_sequence_accuracy",
        "val_macro_f1",
    ]
    assert body_rows(text)[0][2:6] == ["0.8750", "0.2500", "0.5000", "0.6250"]
