"""`benchmarks/quality.py`: each dataset row comes from a real sweep; a missing one is a row."""

import json

import yaml

from jaxtune.bench import quality


def test_quality_rows_come_from_real_sweeps(tmp_path, monkeypatch):
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "synthetic.yaml").write_text(
        yaml.safe_dump(
            {
                "name": "q",
                "data": {"train_size": 300, "val_size": 100, "test_size": 50, "max_length": 12},
                "model": {"architecture": "gru", "hidden_size": 8, "embedding_dim": 8},
                "train": {"epochs": 2},
                "parameters": {
                    "learning_rate": {"values": [0.01, 0.03]},
                    "embedding_trainable": {"values": [True, False]},
                },
            }
        )
    )
    (specs / "emotion.yaml").write_text(yaml.safe_dump({"name": "e", "data": {"name": "emotion"}}))
    monkeypatch.setattr(quality, "SPECS", specs)
    monkeypatch.setattr(quality, "ROOT", tmp_path)
    report = quality.run_benchmark(
        ["synthetic", "emotion"],
        tmp_path / "no-data",
        tmp_path / "out",
        tmp_path / "runs",
        log=lambda _: None,
    )
    synthetic, emotion = report["rows"]
    results = [
        json.loads(line) for line in (tmp_path / "runs" / "synthetic" / "results.jsonl").open()
    ]
    best = max(r["best"]["val_accuracy"] for r in results)
    assert synthetic["best_val_accuracy"] == best
    assert synthetic["configs"] == 4 and synthetic["config_epochs"] == 8
    assert synthetic["embedding"] == "learned"
    frozen = max(
        r["best"]["val_accuracy"] for r in results if not r["hparams"]["embedding_trainable"]
    )
    tuned = max(r["best"]["val_accuracy"] for r in results if r["hparams"]["embedding_trainable"])
    assert synthetic["best_val_accuracy_by_embedding"] == {"fine-tuned": tuned, "frozen": frozen}
    assert max(tuned, frozen) == best
    assert synthetic["sizes"] == {"train": 300, "val": 100, "test": 50}
    assert "no-data" in emotion["error"]  # the data directory that lacks the files is named
    table = (tmp_path / "out" / "quality.md").read_text()
    assert f"| synthetic | 300 / 100 / 50 | 3 | 4 | {best:.4f} |" in table
    assert f"| learned | {tuned:.4f} / {frozen:.4f} |" in table
    assert json.loads((tmp_path / "out" / "quality.json").read_text()) == report
    # A run of one dataset replaces its row and keeps the others.
    again = quality.run_benchmark(
        ["synthetic"], tmp_path / "no-data", tmp_path / "out", tmp_path / "runs", log=lambda _: None
    )
    assert [row["dataset"] for row in again["rows"]] == ["synthetic", "emotion"]
    assert again["rows"][1] == emotion
