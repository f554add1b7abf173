"""The Python API: `jaxtune.sweep` equals the CLI on the same spec, `jaxtune.load` reopens
a sweep with the report's ranking, and README's Python API block runs as written."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

import jaxtune
from jaxtune.cli import app
from jaxtune.spec import SpecError

ROOT = Path(__file__).resolve().parents[1]
SPEC = {
    "name": "api",
    "data": {"train_size": 160, "val_size": 48, "test_size": 16, "max_length": 10},
    "model": {"architecture": "gru", "embedding_dim": 8, "hidden_size": 8, "epochs": 2},
    "parameters": {"learning_rate": {"values": [3e-3, 3e-2]}, "dropout": {"values": [0.0, 0.2]}},
}


def histories(records):
    return {r["trial_id"]: [h["val_loss"] for h in r["history"]] for r in records}


def test_the_api_sweep_equals_the_cli_and_load_gives_the_reports_ranking(tmp_path):
    path = tmp_path / "api.yaml"
    path.write_text(yaml.safe_dump(SPEC, sort_keys=False))  # the grid in the dict's order
    cli = CliRunner().invoke(app, ["sweep", str(path), "--out", str(tmp_path / "cli")])
    assert cli.exit_code == 0, cli.output
    from_cli = [json.loads(line) for line in (tmp_path / "cli" / "results.jsonl").open()]

    result = jaxtune.sweep(SPEC, out=tmp_path / "api", wandb="disabled")
    assert histories(result.records) == histories(from_cli)
    assert result.seconds > 0 and result.best is result.records[0]
    values = [r["best"]["val_accuracy"] for r in result.records]
    assert values == sorted(values, reverse=True)

    again = jaxtune.load(tmp_path / "api")
    assert again.seconds is None
    assert [r["trial_id"] for r in again.records] == [r["trial_id"] for r in result.records]
    markdown = Path(again.report()).read_text()
    ranked = re.findall(r"^\| (\d+) \| (\d+) \|", markdown, flags=re.M)
    assert [int(trial) for _, trial in ranked] == [r["trial_id"] for r in again.records]
    rows = again.ranking()
    rows = rows.to_dict("records") if hasattr(rows, "to_dict") else rows
    assert [row["trial"] for row in rows] == [r["trial_id"] for r in again.records]
    assert {"learning_rate", "dropout", "val_accuracy", "val_loss", "status"} <= set(rows[0])
    first = again.final()
    assert first["trial_id"] == again.best["trial_id"] and 0.0 <= first["test_accuracy"] <= 1.0
    assert again.final() == first  # evaluated once; later calls read final.json


def test_a_spec_may_be_a_path_a_yaml_string_or_a_dict():
    from jaxtune.api import spec_of

    text = yaml.safe_dump(SPEC)
    assert spec_of(text).parameters == spec_of(SPEC).parameters
    with pytest.raises(SpecError, match=r"^<dict>: metric.name: expected one of"):
        spec_of({**SPEC, "metric": {"name": "val_f1"}})
    with pytest.raises(SpecError, match="no such file"):
        spec_of("missing.yaml")


def test_load_of_a_directory_that_is_no_sweep_is_one_line(tmp_path):
    with pytest.raises(jaxtune.SweepError) as error:
        jaxtune.load(tmp_path)
    assert str(error.value) == f"{tmp_path}: no spec.yaml; expected a sweep directory"


def test_the_readme_python_api_block_runs(tmp_path, monkeypatch):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Python API", 1)[1].split("\n### ", 1)[0]
    [block] = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    monkeypatch.chdir(tmp_path)
    exec(compile(block, "README.md (Python API)", "exec"), {})
    assert (tmp_path / "runs" / "notebook" / "final.json").is_file()
    assert (tmp_path / "runs" / "notebook" / "report.md").is_file()


def test_in_memory_data_equals_the_same_examples_read_from_files(tmp_path):
    from support import text_examples, tiny_dataset

    dataset = tiny_dataset()

    def examples(split):
        return text_examples(dataset, split)

    data = jaxtune.TextData(train=examples(dataset.train), val=examples(dataset.val))
    spec = {**SPEC, "data": {"max_length": 10, "holdout": 0.2}}
    result = jaxtune.sweep(spec, data=data, out=tmp_path / "memory", wandb="disabled")

    for name, (texts, labels) in data.splits().items():
        lines = [json.dumps({"text": t, "label": y}) for t, y in zip(texts, labels, strict=True)]
        (tmp_path / f"{name}.jsonl").write_text("\n".join(lines) + "\n")
    files = {"train": str(tmp_path / "train.jsonl"), "val": str(tmp_path / "val.jsonl")}
    path = tmp_path / "files.yaml"
    path.write_text(yaml.safe_dump({**spec, "data": {**spec["data"], **files}}, sort_keys=False))
    cli = CliRunner().invoke(app, ["sweep", str(path), "--out", str(tmp_path / "files")])
    assert cli.exit_code == 0, cli.output
    from_files = [json.loads(line) for line in (tmp_path / "files" / "results.jsonl").open()]
    assert histories(result.records) == histories(from_files)
    # The directory keeps the examples its spec names: final and resume read them there.
    kept = yaml.safe_load((tmp_path / "memory" / "spec.yaml").read_text())["data"]
    assert Path(kept["train"]).parent.parent == (tmp_path / "memory").resolve()
    assert jaxtune.load(tmp_path / "memory").final()["test_size"] == 32  # carved: 0.2 of 160


def test_in_memory_labels_must_match_the_texts():
    data = jaxtune.TextData(train=(["a b", "c"], ["x"]))
    with pytest.raises(jaxtune.SweepError, match=r"^TextData.train: found 2 texts and 1 labels"):
        jaxtune.sweep(SPEC, data=data, out="unused")


def test_token_arrays_become_the_same_sequences_under_the_tokenizers_numbering(tmp_path):
    from support import tiny_dataset

    from jaxtune.api import with_data
    from jaxtune.data.sources import load_dataset
    from jaxtune.spec import parse_spec

    dataset = tiny_dataset()

    def arrays(split):
        return split.tokens, split.lengths, [dataset.label_names[y] for y in split.labels]

    splits = (dataset.train, dataset.val, dataset.test)
    data = jaxtune.TextData.from_arrays(*(arrays(s) for s in splits))
    document, _ = with_data({}, data, tmp_path)
    loaded, _ = load_dataset(parse_spec(document, "arrays.yaml").data)
    for given, read in zip(splits, (loaded.train, loaded.val, loaded.test), strict=True):
        np.testing.assert_array_equal(read.lengths, given.lengths)
        names = [loaded.label_names[y] for y in read.labels]
        assert names == [dataset.label_names[y] for y in given.labels]
        for row, source, length in zip(read.tokens, given.tokens, given.lengths, strict=True):
            # Each given id is one word of the loaded vocabulary: the same sequence.
            assert [loaded.vocab[t] for t in row[:length]] == [str(t) for t in source[:length]]
