"""Every spec a user is handed runs end to end, through the command a user types.

Each spec file in experiments/ and benchmarks/ and each YAML example in README.md is run
with `jaxtune sweep` (in-process through the CLI) on a slice of its real data
(tests/data_slices.py) and then reported with `jaxtune report`. A new file or a new
README block is picked up here without editing this module. The only test-side change
to a spec makes it small: one epoch, at most a few configs (`run_cap`, which grid,
one_at_a_time and named configs cut to their first ones), a small synthetic task, and
for real data two length buckets where the spec sets buckets, one where it leaves the
default (each bucket compiles its own programs; five made these runs three times longer).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
import yaml
from data_slices import make_slice
from typer.testing import CliRunner

from jaxtune.cli import app
from jaxtune.data.synthetic_sequences import SYNTHETIC_NAMES
from jaxtune.search.samplers import sample
from jaxtune.spec import parse_spec

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = 2  # configs kept of each spec
EPOCHS = {"epochs", "num_epochs", "max_epochs"}
SYNTHETIC = {"train_size": 240, "val_size": 64, "test_size": 64}
runner = CliRunner()


def readme_examples() -> list[tuple[str, str]]:
    """(README.md:LINE, text) of each ```yaml block in README.md."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return [
        (f"README.md:{readme[: match.start()].count(chr(10)) + 2}", match.group(1))
        for match in re.finditer(r"```yaml\n(.*?)```", readme, flags=re.S)
    ]


SHIPPED = [
    *(
        (str(path.relative_to(ROOT)), path.read_text(encoding="utf-8"))
        for folder in ("experiments", "benchmarks")
        for path in sorted((ROOT / folder).rglob("*.yaml"))
    ),
    *readme_examples(),
]


def small(document: dict, tmp_path: Path) -> dict:
    """The spec cut down to a test's size; everything else as the user has it."""
    document = json.loads(json.dumps(document))  # a copy
    train = document["train"] = document.get("train") or {}
    model = document.get("model") or {}
    if train.get("max_steps") is not None:
        train["max_steps"] = 4
    elif not EPOCHS & set(document.get("parameters") or {}):
        for key in EPOCHS & set(model) or {"epochs"}:
            (model if key in model else train)[key] = 1
    document["run_cap"] = CONFIGS
    if document.get("method") == "bayes":
        document.setdefault("budget", {})["ask_batch"] = CONFIGS
    data = document.setdefault("data", {}) or {}
    builtin = data.get("name", "synthetic") in SYNTHETIC_NAMES.values()
    if builtin and not {"train", "file"} & set(data):
        data.update(SYNTHETIC)
    else:  # each bucket compiles its own programs: two where the spec sets buckets, else one
        data["buckets"] = 2 if data.get("buckets", 1) != 1 else 1
    if data.get("source") == "tfds":  # prepared datasets go to the test's folder
        data["tfds_data_dir"] = str(tmp_path / "tfds")
    document["data"] = data
    return document


@pytest.fixture(scope="session")
def data_slice(tmp_path_factory) -> Path:
    return make_slice(tmp_path_factory.mktemp("data"))


@pytest.mark.parametrize("where,text", SHIPPED, ids=[where for where, _ in SHIPPED])
def test_shipped_spec_runs_end_to_end_and_reports(where, text, data_slice, tmp_path):
    document = small(yaml.safe_load(text), tmp_path)
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    out = tmp_path / "sweep"
    result = runner.invoke(
        app, ["sweep", str(spec), "--data-dir", str(data_slice), "--out", str(out)]
    )
    assert result.exit_code == 0, f"{where}: {result.output}{result.stderr}"

    parsed = parse_spec(document, where)
    expected = CONFIGS if parsed.method == "bayes" else len(sample(parsed)[0])
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(records) == expected
    assert {r["trial_id"] for r in records} == set(range(expected))
    for record in records:
        value = record["best"][parsed.metric]
        assert math.isfinite(value), (where, record["trial_id"], record["status"])

    result = runner.invoke(app, ["report", str(out)])
    assert result.exit_code == 0, f"{where}: {result.output}{result.stderr}"
    for name in ("report.md", "report.html"):
        assert (out / name).stat().st_size > 0
    assert list((out / "figures").glob("*.png"))
