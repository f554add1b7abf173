"""`jaxtune export` and `jaxtune predict`: the exported model classifies the validation
texts exactly as the engine's evaluation did, its params load with orbax alone, and a
malformed input line is one line naming the file and line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jax
import numpy as np
import orbax.checkpoint as ocp
import pytest
from support import text_examples, tiny_dataset
from typer.testing import CliRunner

import jaxtune
from jaxtune.cli import app
from jaxtune.export import Model

runner = CliRunner()
SPEC = {
    "name": "export",
    "data": {"max_length": 10},
    "model": {"architecture": "gru", "embedding_dim": 8, "hidden_size": 8, "epochs": 3},
    "parameters": {"learning_rate": {"values": [3e-3, 3e-2]}},
}


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    dataset = tiny_dataset()

    def examples(split):
        return text_examples(dataset, split)

    data = jaxtune.TextData(train=examples(dataset.train), val=examples(dataset.val))
    out = tmp_path_factory.mktemp("sweep") / "sweep"
    result = jaxtune.sweep(SPEC, data=data, out=out, wandb="disabled")
    return result, examples(dataset.val)


def test_the_exported_model_classifies_the_validation_texts_as_the_engine_did(sweep, tmp_path):
    result, (texts, labels) = sweep
    exported = runner.invoke(app, ["export", str(result.directory), "--out", str(tmp_path / "m")])
    assert exported.exit_code == 0, exported.output
    card = json.loads((tmp_path / "m" / "model.json").read_text())
    assert card["sweep"]["trial_id"] == result.best["trial_id"]
    assert card["labels"] == sorted(set(labels)) and card["jaxtune_version"] == jaxtune.__version__
    assert "# export: trial" in (tmp_path / "m" / "README.md").read_text()

    source = tmp_path / "val.txt"
    source.write_text("\n".join(texts) + "\n")
    predicted = runner.invoke(
        app, ["predict", str(tmp_path / "m"), str(source), "--batch-size", "7"]
    )
    assert predicted.exit_code == 0, predicted.output
    rows = [line.split("\t") for line in predicted.output.splitlines()]
    assert len(rows) == len(texts)
    assert all(label in card["labels"] and 0.0 < float(p) <= 1.0 for label, p in rows)
    # The best epoch's params, as the engine evaluated them: the same accuracy, exactly.
    accuracy = np.mean([label == truth for (label, _), truth in zip(rows, labels, strict=True)])
    assert accuracy == pytest.approx(result.best["best"]["val_accuracy"], abs=1e-9)

    # Another trial by id; and the params with orbax alone.
    other = [r for r in result.records if r["trial_id"] != result.best["trial_id"]][0]
    chosen = runner.invoke(
        app,
        [
            "export",
            str(result.directory),
            "--trial",
            str(other["trial_id"]),
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert chosen.exit_code == 0, chosen.output
    assert json.loads((tmp_path / "o" / "model.json").read_text())["config"] == other["hparams"]
    params = ocp.StandardCheckpointer().restore((tmp_path / "m" / "params").resolve())
    loaded = Model(tmp_path / "m")
    jax.tree.map(np.testing.assert_array_equal, params, loaded.params)
    # README's block, with this model directory.
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Export and predict", 1)[1].split("\n### ", 1)[0]
    [block] = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    scope = {}
    exec(compile(block.replace("MODEL_DIR", str(tmp_path / "m")), "README.md", "exec"), scope)
    jax.tree.map(np.testing.assert_array_equal, scope["params"], loaded.params)


def test_bad_input_is_one_line_naming_the_file_and_line(sweep, tmp_path):
    result, (texts, _) = sweep
    model = tmp_path / "m"
    assert runner.invoke(app, ["export", str(result.directory), "--out", str(model)]).exit_code == 0
    cases = {
        "bad.jsonl": (
            json.dumps({"text": texts[0]}) + "\n{not json\n",
            "bad.jsonl:2: expected a JSON object with a string 'text'",
        ),
        "blank.txt": (f"{texts[0]}\n\n{texts[1]}\n", "blank.txt:2: an empty line"),
        "rows.csv": ("sentence\nhello\n", "rows.csv:1: no column 'text'; found sentence"),
    }
    for name, (content, message) in cases.items():
        path = tmp_path / name
        path.write_text(content)
        run = runner.invoke(app, ["predict", str(model), str(path)])
        assert run.exit_code == 2, run.output
        assert run.output.strip() == f"error: {path.parent}/{message}" or message in run.output
        assert "\n" not in run.output.strip() and "Traceback" not in run.output
    by_column = tmp_path / "rows.csv"
    run = runner.invoke(app, ["predict", str(model), str(by_column), "--column", "sentence"])
    assert run.exit_code == 0 and len(run.output.splitlines()) == 1
    missing = runner.invoke(app, ["export", str(result.directory), "--trial", "99"])
    assert missing.exit_code == 2 and "--trial: no trial 99" in missing.output
