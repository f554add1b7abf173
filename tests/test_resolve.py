"""spec/resolve.py: the data's facts applied to the spec once, recorded, and read back anywhere."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from support import run_python
from typer.testing import CliRunner

from jaxtune.cli import app
from jaxtune.data.examples import DataError
from jaxtune.data.sources import load_dataset
from jaxtune.layout import RESOLVED_FILE
from jaxtune.search.samplers import sample
from jaxtune.spec import SpecError, parse_spec
from jaxtune.spec.resolve import FACTS, ResolvedSpec, read_resolved, resolve

runner = CliRunner()
WORDS = ("good", "bad", "plot", "acting", "great", "awful", "fine", "dull")


def write_user_data(directory: Path) -> Path:
    """A user's CSV (two classes, carved into val and test) and 3-d GloVe-format vectors."""
    rows = ["review,stars"]
    for i in range(60):
        positive = i % 3 != 0
        words = [WORDS[(i + k) % len(WORDS)] for k in range(3 + i % 4)]
        rows.append(f"{' '.join(words)} {'great' if positive else 'awful'},{int(positive)}")
    (directory / "reviews.csv").write_text("\n".join(rows) + "\n")
    vectors = [f"{w} {i * 0.1:.1f} {-i * 0.2:.1f} 0.5" for i, w in enumerate(WORDS[:6])]
    (directory / "vectors.txt").write_text("\n".join(vectors) + "\n")
    return directory


def user_spec(**extra) -> dict:
    return {
        "name": "reviews",
        "data": {
            "train": "reviews.csv",
            "text_column": "review",
            "label_column": "stars",
            "embedding": {"pretrained": "vectors.txt", "trainable": [True, False]},
        },
        "model": {"architecture": "gru", "hidden_size": 4, "batch_size": 16},
        "train": {"epochs": 1},
        **extra,
    }


def resolved_from(tmp_path: Path, document: dict) -> ResolvedSpec:
    spec = parse_spec(document, "s.yaml")
    _, report = load_dataset(spec.data, None, write_user_data(tmp_path))
    return resolve(spec, report)


def test_the_vectors_width_reaches_every_sampled_config(tmp_path):
    parameters = {"learning_rate": {"values": [0.01, 0.03]}}
    resolved = resolved_from(tmp_path, user_spec(parameters=parameters))
    assert resolved.embedding_width == 3 and resolved.fixed["embedding_dim"] == 3
    assert resolved.label_names == ("0", "1") and resolved.num_classes == 2
    assert resolved.shapes.vocab_size == resolved.vocab_size > len(WORDS)
    trials, _ = sample(resolved)
    assert len(trials) == 4  # two rates x frozen / fine-tuned
    assert {t.config["embedding_dim"] for t in trials} == {3}


@pytest.mark.parametrize(
    "change, message",
    [
        (
            {"model": {"architecture": "gru", "embedding_dim": 8}},
            "data.embedding.pretrained: vectors of width 3, but embedding_dim is 8; "
            "set it to 3 or remove it",
        ),
        (
            {"parameters": {"embedding_dim": {"values": [3, 8]}}},
            "data.embedding.pretrained: vectors of width 3 fix embedding_dim; remove "
            "parameters.embedding_dim (found [3, 8])",
        ),
        (
            {  # named configs, with the table fine-tuned (a swept flag cannot be named)
                "configs": {"wide": {"embedding_dim": 8}},
                "data": {**user_spec()["data"], "embedding": {"pretrained": "vectors.txt"}},
            },
            "data.embedding.pretrained: vectors of width 3 fix embedding_dim; remove it from "
            "configs.wide (found 8)",
        ),
        (
            {"train": {"class_weights": [1.0, 2.0, 3.0]}},
            "train.class_weights: expected 2 weights (one per class: 0, 1), found 3",
        ),
    ],
)
def test_a_spec_the_data_contradicts_is_one_line(tmp_path, change, message):
    with pytest.raises(SpecError) as error:
        resolved_from(tmp_path, user_spec(**change))
    assert str(error.value) == f"s.yaml: {message}"


def test_balanced_class_weights_come_from_the_training_counts(tmp_path):
    resolved = resolved_from(tmp_path, user_spec(train={"class_weights": "balanced"}))
    spec = parse_spec(user_spec(), "s.yaml")
    _, report = load_dataset(spec.data, None, tmp_path)
    counts = report.label_counts["train"]
    total = sum(counts.values())
    expected = tuple(total / (2 * counts[label]) for label in ("0", "1"))
    assert resolved.class_weights == pytest.approx(expected)
    assert resolved_from(tmp_path, user_spec()).class_weights is None


def test_resume_n_more_of_a_random_sweep_on_pretrained_vectors(tmp_path):
    """The path of the pretrained-vectors crash: trials drawn, and drawn again by --n-more,
    from the resolved spec, so every config has the vectors' width; the facts are recorded
    and read back as the same resolved spec."""
    data = write_user_data(tmp_path)
    rates = {"distribution": "log_uniform_values", "min": 1e-3, "max": 1e-1}
    document = user_spec(method="random", run_cap=2, parameters={"learning_rate": rates})
    document["train"]["class_weights"] = "balanced"
    spec_path = tmp_path / "reviews.yaml"
    spec_path.write_text(yaml.safe_dump(document))
    out = tmp_path / "sweep"
    args = ["sweep", str(spec_path), "--data-dir", str(data), "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["resume", str(out), "--n-more", "2"])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert sorted(r["trial_id"] for r in records) == [0, 1, 2, 3]
    assert {r["hparams"]["embedding_dim"] for r in records} == {3}
    assert all(r["status"] in ("completed", "stopped") for r in records)

    recorded = json.loads((out / RESOLVED_FILE).read_text())
    assert set(recorded) == set(FACTS) and recorded["embedding_width"] == 3
    read_back = read_resolved(out)
    assert isinstance(read_back, ResolvedSpec) and read_back.fixed["embedding_dim"] == 3
    assert read_back.facts() == resolved_from(tmp_path, document).facts()
    # A sweep written before resolved.json existed is resolved from its data once.
    (out / RESOLVED_FILE).unlink()
    assert read_resolved(out).facts() == read_back.facts()
    assert json.loads((out / RESOLVED_FILE).read_text()) == recorded
    (out / RESOLVED_FILE).unlink()
    with pytest.raises(DataError) as error:  # the data is gone: say why it was needed
        read_resolved(out, data_dir=tmp_path / "elsewhere")
    assert str(error.value).startswith(f"{out}: written before {RESOLVED_FILE}, so its data")


def test_a_sweep_made_on_four_devices_is_read_on_two(tmp_path):
    """budget.devices is checked against the machine that runs a sweep, not the one that
    reads it: report, final and refine work in a 2-device process; running there does not."""
    document = {
        "name": "four",
        "method": "random",
        "run_cap": 2,
        "data": {"train_size": 120, "val_size": 32, "test_size": 32},
        "model": {"architecture": "gru", "hidden_size": 8, "embedding_dim": 8},
        "train": {"epochs": 1, "eval_batch_size": 16},
        "parameters": {"learning_rate": {"values": [0.003, 0.01, 0.03]}},
        "budget": {"devices": 4},
    }
    spec_path = tmp_path / "four.yaml"
    spec_path.write_text(yaml.safe_dump(document))
    out = tmp_path / "sweep"
    assert runner.invoke(app, ["sweep", str(spec_path), "--out", str(out)]).exit_code == 0
    assert json.loads((out / "sweep.json").read_text())["devices"] == 4

    # One 2-device process runs the commands in turn, as a user would; the last, which
    # runs the sweep again, is what needs four devices: one line, exit 2.
    commands = [["report"], ["final"], ["refine", "--dry-run"], ["resume", "--n-more", "1"]]
    program = (
        "import json, sys, jaxtune, jax\n"
        "from typer.testing import CliRunner\n"
        "from jaxtune.cli import app\n"
        "assert jax.local_device_count() == 2\n"
        "for args in json.loads(sys.argv[1]):\n"
        "    result = CliRunner().invoke(app, args)\n"
        "    print(json.dumps([result.exit_code, result.stderr]))\n"
    )
    commands = [[command[0], str(out), *command[1:]] for command in commands]
    result = run_python(
        ["-c", program, json.dumps(commands)], cwd=tmp_path, JAX_NUM_CPU_DEVICES="2"
    )
    outcomes = [json.loads(line) for line in result.stdout.strip().splitlines()[-4:]]
    assert [code for code, _ in outcomes] == [0, 0, 0, 2], result.stdout
    assert (out / "report.html").stat().st_size > 0
    assert json.loads((out / "final.json").read_text())["test_size"] == 32
    assert yaml.safe_load((out / "refine.yaml").read_text())["budget"] == {"devices": 4}
    assert outcomes[3][1].splitlines() == [
        f"error: {out / 'spec.yaml'}: budget.devices: expected auto or an integer in [1, 2] "
        "(this machine's cpu devices), found 4"
    ]
