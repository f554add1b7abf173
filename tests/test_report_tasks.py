"""`jaxtune report` of tag and ctc sweeps: their own metrics ranked, curved and tested."""

import json

import matplotlib
import pytest
import yaml
from support import RESOLVED_BY_HAND

from jaxtune.layout import FINAL_FILE, REPORT_MARKDOWN, RESOLVED_FILE, SPEC_FILE
from jaxtune.report import figures, write_report
from jaxtune.report.analysis import load_sweep
from jaxtune.results import write_results
from jaxtune.tasks import TASKS

matplotlib.use("Agg")

LEARNING_RATES = (1e-3, 3e-3, 1e-2)


def task_metrics(task, score):
    """The validation metrics a record of `task` holds: the main accuracy `score`, the
    others derived from it (no two alike, so a wrong column shows)."""
    values = {
        "loss": 2.0 - score,
        "accuracy": score,
        "macro_f1": score - 0.05,
        "token_accuracy": score,
        "char_accuracy": score,
        "cer": 1.0 - score,
        "sequence_accuracy": score - 0.3,
    }
    return {f"val_{m}": values[m] for m in TASKS[task].metrics}


def task_record(task, trial_id, score, learning_rate, epochs=3):
    """A results.jsonl record as the engine writes it for `task` (history, best epoch)."""
    tags = 0 if task == "ctc" else 3  # ctc counts no confusion: no per-class accuracy
    history = [
        {
            "epoch": epoch,
            "learning_rate": learning_rate,
            "train_loss": 1.0 / epoch,
            "train_accuracy": score - 0.1 * (epochs - epoch) - 0.2,
            **task_metrics(task, score - 0.1 * (epochs - epoch)),
            "val_per_class_accuracy": [score] * tags,
        }
        for epoch in range(1, epochs + 1)
    ]
    return {
        "trial_id": trial_id,
        "group": 0,
        "studies": [],
        "status": "completed",
        "status_reason": f"ran {epochs} epochs",
        "hparams": {"architecture": "gru", "learning_rate": learning_rate, "epochs": epochs},
        "epochs_run": epochs,
        "best_epoch": epochs,
        "best": dict(history[-1]),
        "history": history,
    }


def task_sweep(path, task, scores, final=None):
    """A finished sweep directory of `task`, one config per learning rate; `final`: a
    final.json to write."""
    path.mkdir(parents=True)
    spec = {
        "name": f"{task}_hand",
        "task": task,
        "model": {"architecture": "gru"},
        "parameters": {"learning_rate": {"values": list(LEARNING_RATES)}},
    }
    (path / SPEC_FILE).write_text(yaml.safe_dump(spec, sort_keys=False))
    (path / RESOLVED_FILE).write_text(json.dumps(RESOLVED_BY_HAND))
    records = [
        task_record(task, i, s, lr)
        for i, (s, lr) in enumerate(zip(scores, LEARNING_RATES, strict=True))
    ]
    write_results(path, records)
    if final is not None:
        (path / FINAL_FILE).write_text(json.dumps(final))
    return path


@pytest.fixture
def saved(monkeypatch):
    """Every figure the report saves, by file name (each PNG is still written)."""
    found = {}
    save = figures._save

    def keep(figure, path):
        found[path.name] = figure
        return save(figure, path)

    monkeypatch.setattr(figures, "_save", keep)
    return found


def table_lines(markdown, first_header):
    """The lines of the Markdown table whose header row starts with `first_header`."""
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    return lines[start:end]


def final_rows(markdown):
    """The rows of the final test evaluation's key-value table."""
    after = markdown.split("## Final test evaluation", 1)[1]
    return [cells(line) for line in table_lines(after, "")[2:]]


def cells(line):
    return [cell.strip() for cell in line.strip("|").split("|")]


def panel_titles(figure):
    return [ax.get_title() for ax in figure.axes]


def test_ctc_report_ranks_by_char_accuracy_with_its_other_metrics_beside_it(tmp_path, saved):
    final = {
        "trial_id": 1,
        "best_epoch": 3,
        "val_char_accuracy": 0.9,
        "test_loss": 1.25,
        "test_char_accuracy": 0.875,
        "test_cer": 0.125,
        "test_sequence_accuracy": 0.5,
        "test_per_class_accuracy": [],  # ctc: no confusion counted
        "test_size": 16,
        "task": "ctc",
        "label_names": ["a", "b"],
        "evaluated_at": "2026-01-02T00:00:00+00:00",
    }
    directory = task_sweep(tmp_path / "ctc", "ctc", [0.7, 0.9, 0.8], final)
    assert load_sweep(directory).task == TASKS["ctc"]
    markdown = (write_report(directory).markdown).read_text(encoding="utf-8")
    assert markdown == (directory / REPORT_MARKDOWN).read_text(encoding="utf-8")
    assert "task ctc; method grid; metric val_char_accuracy (maximize)" in markdown
    header, _, *rows = table_lines(markdown, "rank")
    assert cells(header) == [
        "rank",
        "trial",
        "learning_rate",
        "val char acc",
        "val loss",
        "val CER",
        "val sequence acc",
        "best epoch",
        "epochs run",
        "status",
    ]
    assert [cells(r)[:7] for r in rows] == [
        ["1", "1", "0.003", "0.9000", "1.1000", "0.1000", "0.6000"],
        ["2", "2", "0.01", "0.8000", "1.2000", "0.2000", "0.5000"],
        ["3", "0", "0.001", "0.7000", "1.3000", "0.3000", "0.4000"],
    ]
    assert "val acc" not in markdown and "macro-F1" not in markdown
    # The curves show the task's main accuracy, and say what the train accuracy counts.
    assert panel_titles(saved["learning_curves.png"]) == [
        "train loss",
        "val loss",
        "train accuracy (sequences decoded exactly)",
        "val char accuracy",
    ]
    assert saved["hparam_learning_rate.png"].axes[0].get_ylabel() == "best val char accuracy"
    # The test metrics are the task's; no per-class table (ctc has none).
    assert final_rows(markdown)[:7] == [
        ["trial_id", "1"],
        ["best_epoch", "3"],
        ["val_char_accuracy", "0.9000"],
        ["test_char_accuracy", "0.8750"],
        ["test_loss", "1.2500"],
        ["test_cer", "0.1250"],
        ["test_sequence_accuracy", "0.5000"],
    ]
    assert "| class |" not in markdown and "test_accuracy" not in markdown


def test_tag_report_shows_token_and_sequence_accuracy_and_per_tag_test_accuracy(tmp_path, saved):
    final = {
        "trial_id": 2,
        "val_token_accuracy": 0.95,
        "test_token_accuracy": 0.9,
        "test_sequence_accuracy": 0.6,
        "test_loss": 0.3,
        "test_macro_f1": 0.85,
        "test_per_class_accuracy": [0.75, 1.0],
        "label_names": ["noun", "verb"],
        "task": "tag",
    }
    directory = task_sweep(tmp_path / "tag", "tag", [0.6, 0.8, 0.95], final)
    markdown = write_report(directory).markdown.read_text(encoding="utf-8")
    assert "task tag; method grid; metric val_token_accuracy (maximize)" in markdown
    header, _, first, *_ = table_lines(markdown, "rank")
    assert cells(header)[3:7] == ["val token acc", "val loss", "val sequence acc", "macro-F1"]
    assert cells(first)[:7] == ["1", "2", "0.01", "0.9500", "1.0500", "0.6500", "0.9000"]
    assert panel_titles(saved["learning_curves.png"])[2:] == [
        "train accuracy (tokens tagged right)",
        "val token accuracy",
    ]
    assert [row[0] for row in final_rows(markdown)] == [
        "trial_id",
        "val_token_accuracy",
        "test_token_accuracy",
        "test_loss",
        "test_sequence_accuracy",
        "test_macro_f1",
    ]
    assert table_lines(markdown, "tag")[2:] == ["| noun | 0.7500 |", "| verb | 1.0000 |"]


def test_a_ctc_sweep_ranked_by_cer_puts_the_lowest_first(tmp_path):
    directory = task_sweep(tmp_path / "ctc", "ctc", [0.7, 0.9, 0.8])
    spec = yaml.safe_load((directory / SPEC_FILE).read_text())
    spec["metric"] = {"name": "val_cer"}  # minimized by default
    (directory / SPEC_FILE).write_text(yaml.safe_dump(spec))
    sweep = load_sweep(directory)
    assert (sweep.metric, sweep.goal) == ("val_cer", "minimize")
    assert sweep.ranking_metrics == [
        "val_cer",
        "val_loss",
        "val_char_accuracy",
        "val_sequence_accuracy",
    ]
    assert [r["trial_id"] for r in sweep.records] == [1, 2, 0]
