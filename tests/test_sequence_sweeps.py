"""Tag and ctc sweeps through the command a user types: the named-config CTC study with
its invalid config FAILED and the others ranked by character accuracy, a tagging grid,
and the spec errors of what a task rules out."""

import json
import random
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from jaxtune.cli import app
from jaxtune.spec import SpecError, parse_spec

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def sweep(tmp_path: Path, document: dict, name: str) -> tuple[list[dict], str]:
    spec = tmp_path / f"{name}.yaml"
    spec.write_text(yaml.safe_dump(document))
    out = tmp_path / name
    result = runner.invoke(app, ["sweep", str(spec), "--out", str(out)])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    return records, " ".join(result.output.split())


def test_the_named_ctc_study_fails_the_cnn_alone_and_ranks_the_rest(tmp_path):
    document = yaml.safe_load((ROOT / "experiments" / "named_configs_ctc.yaml").read_text())
    document["data"].update(train_size=160, val_size=48, test_size=16)
    document["model"].update(epochs=2, embedding_dim=8, model_size="small")
    keep = ("conservative_small", "gru_fast", "cnn_baseline")
    document["configs"] = {name: document["configs"][name] for name in keep}
    records, output = sweep(tmp_path, document, "ctc")
    by_name = {r["name"]: r for r in records}
    assert set(by_name) == set(keep)
    cnn = by_name["cnn_baseline"]
    assert cnn["status"] == "failed" and cnn["epochs_run"] == 0
    assert cnn["status_reason"].startswith("failed to build: the text CNN")
    for name in keep[:2]:
        record = by_name[name]
        assert record["status"] in ("completed", "stopped") and record["epochs_run"] >= 1
        best = record["best"]
        assert {"val_char_accuracy", "val_cer", "val_sequence_accuracy", "val_loss"} <= set(best)
        assert best["val_char_accuracy"] == pytest.approx(max(0.0, 1 - best["val_cer"]))
    assert "ranking by val_char_accuracy" in output
    report = runner.invoke(app, ["report", str(tmp_path / "ctc")])
    assert report.exit_code == 0, report.output
    markdown = (tmp_path / "ctc" / "report.md").read_text()
    assert "failed to build" in markdown
    # Ranked by character accuracy, each config by its name, sequence accuracy beside it.
    header = next(line for line in markdown.splitlines() if line.startswith("| rank |"))
    columns = [c.strip() for c in header.strip("|").split("|")]
    assert columns[:3] == ["rank", "trial", "name"]
    assert columns.index("val char acc") < columns.index("val sequence acc")
    first = next(line for line in markdown.splitlines() if line.startswith("| 1 |"))
    best = max(keep[:2], key=lambda n: by_name[n]["best"]["val_char_accuracy"])
    assert f"| {best} |" in first


def test_a_tagging_grid_records_token_and_sequence_accuracy(tmp_path):
    document = {
        "name": "parity",
        "task": "tag",
        "data": {"name": "parity", "train_size": 160, "val_size": 48, "test_size": 16},
        "model": {"architecture": "gru", "embedding_dim": 8, "hidden_size": 16, "epochs": 2},
        "parameters": {"learning_rate": {"values": [3e-3, 1e-2]}},
    }
    records, output = sweep(tmp_path, document, "tag")
    assert len(records) == 2
    for record in records:
        entry = record["history"][-1]
        assert entry["val_sequence_accuracy"] <= entry["val_token_accuracy"]
        assert len(entry["val_per_class_accuracy"]) == 2  # even, odd
    assert "ranking by val_token_accuracy" in output
    final = runner.invoke(app, ["final", str(tmp_path / "tag")])
    assert final.exit_code == 0, final.output
    document = json.loads((tmp_path / "tag" / "final.json").read_text())
    assert 0.0 <= document["test_sequence_accuracy"] <= document["test_token_accuracy"] <= 1.0


@pytest.mark.parametrize(
    "change,message",
    [
        (
            {"task": "ctc", "parameters": {"architecture": {"values": ["gru", "cnn"]}}},
            "s.yaml: parameters.architecture: found cnn; task ctc needs an output per step",
        ),
        (
            {"task": "tag", "model": {"architecture": "cnn"}},
            "s.yaml: model.architecture: found cnn; task tag needs an output per step",
        ),
        (
            {"task": "ctc", "model": {"maxlen": 20}},
            "s.yaml: model.maxlen: task ctc reads whole inputs",
        ),
        (
            {"task": "tag", "train": {"class_weights": "balanced"}},
            "s.yaml: train.class_weights: found 'balanced'; class weights apply to task "
            "classify only",
        ),
        (
            {"task": "ctc", "metric": {"name": "val_accuracy"}},
            "s.yaml: metric.name: expected one of val_loss, val_char_accuracy, val_cer, "
            "val_sequence_accuracy, found 'val_accuracy'",
        ),
        ({"task": "translate"}, "s.yaml: task: expected one of classify, tag, ctc"),
    ],
)
def test_what_a_task_rules_out_is_a_one_line_error(change, message):
    with pytest.raises(SpecError) as error:
        parse_spec(change, "s.yaml")
    assert str(error.value).startswith(message), str(error.value)
    assert "\n" not in str(error.value)


def test_the_metric_and_its_goal_default_to_the_tasks():
    assert parse_spec({"task": "ctc"}, "s.yaml").metric == "val_char_accuracy"
    cer = parse_spec({"task": "ctc", "metric": {"name": "val_cer"}}, "s.yaml")
    assert cer.goal == "minimize" and cer.train.early_stopping.monitor == "val_cer"
    assert parse_spec({"task": "tag"}, "s.yaml").metric == "val_token_accuracy"
    assert parse_spec({}, "s.yaml").metric == "val_accuracy"


def test_jsonl_tag_and_ctc_files_sweep_through_the_cli(tmp_path):
    """A user's own JSONL: tags per token, and targets read character by character."""
    rng = random.Random(0)
    words = ["red", "blue", "the", "a", "big", "small"]
    kind = {"red": "COLOR", "blue": "COLOR", "the": "DET", "a": "DET"}
    tag_lines, ctc_lines = [], []
    for _ in range(120):
        text = [rng.choice(words) for _ in range(rng.randint(3, 7))]
        tags = [kind.get(w, "ADJ") for w in text]
        tag_lines.append(json.dumps({"text": " ".join(text), "tags": tags}))
        initials = [w[0] for w in text if w in ("red", "blue")]
        # Repeats merged: a target never needs more steps than its text has tokens.
        target = "".join(c for i, c in enumerate(initials) if i == 0 or c != initials[i - 1])
        ctc_lines.append(json.dumps({"text": " ".join(text), "target": target or "x"}))
    (tmp_path / "tags.jsonl").write_text("\n".join(tag_lines) + "\n")
    (tmp_path / "reads.jsonl").write_text("\n".join(ctc_lines) + "\n")
    model = {"architecture": "gru", "embedding_dim": 8, "hidden_size": 8, "epochs": 1}
    for task, file in (("tag", "tags.jsonl"), ("ctc", "reads.jsonl")):
        document = {
            "name": task,
            "task": task,
            "data": {"file": str(tmp_path / file), "split": [0.7, 0.15, 0.15]},
            "model": model,
        }
        records, _ = sweep(tmp_path, document, f"file_{task}")
        metric = "val_token_accuracy" if task == "tag" else "val_char_accuracy"
        assert len(records) == 1 and 0.0 <= records[0]["best"][metric] <= 1.0
    resolved = json.loads((tmp_path / "file_ctc" / "resolved.json").read_text())
    assert resolved["label_names"][0] == "<blank>" and "r" in resolved["label_names"]
