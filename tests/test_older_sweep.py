"""A sweep directory written by an earlier jaxtune still resumes, reports, finalizes and
extends: `fixtures/killed_sweep_80e7edf` is a random sweep (2 GRU configs, 4 epochs,
a snapshot every epoch) made by main at 80e7edf and SIGKILLed while it saved the
snapshot of epoch 2 (`test_resume.py`'s kill). It holds the complete snapshot of epoch
1, the unfinished one of epoch 2, its study and its resolved facts; no results."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jaxtune.cli import app
from jaxtune.layout import FINAL_FILE, REPORT_HTML, REPORT_MARKDOWN

FIXTURES = Path(__file__).parent / "fixtures"
OLDER = FIXTURES / "killed_sweep_80e7edf"


def invoke(*args) -> str:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def results(directory: Path) -> list[dict]:
    return [json.loads(line) for line in (directory / "results.jsonl").read_text().splitlines()]


def test_a_sweep_killed_under_an_earlier_version_resumes_reports_and_extends(tmp_path):
    older = tmp_path / "older"
    shutil.copytree(OLDER, older)
    printed = invoke("resume", older)
    assert "population 0: resuming from its snapshot after epoch 1" in printed
    # The same spec swept from scratch by this version: the resumed sweep trained the
    # same configs to the same results. The fixture's first epoch was computed with the
    # production compiler flags on another machine, the tests' with -O0, so the values
    # are compared to float32 rounding, not bit for bit.
    fresh = tmp_path / "fresh"
    invoke("sweep", FIXTURES / "killed_sweep_80e7edf.yaml", "--out", fresh)
    resumed, expected = results(older), results(fresh)
    assert [r["hparams"] for r in resumed] == [r["hparams"] for r in expected]
    assert [r["status"] for r in resumed] == [r["status"] for r in expected] == ["completed"] * 2
    for got, want in zip(resumed, expected, strict=True):
        assert [h["epoch"] for h in got["history"]] == [1, 2, 3, 4]
        for g, w in zip(got["history"], want["history"], strict=True):
            for key in ("train_loss", "val_loss", "learning_rate"):
                assert g[key] == pytest.approx(w[key], rel=1e-4), key
            assert g["val_accuracy"] == pytest.approx(w["val_accuracy"], abs=1 / 64)
    assert not (older / "snapshots").exists()

    invoke("report", older)
    assert (older / REPORT_MARKDOWN).exists() and (older / REPORT_HTML).exists()
    invoke("final", older)
    final = json.loads((older / FINAL_FILE).read_text())
    best = max(r["best"]["val_accuracy"] for r in resumed)
    assert final["trial_id"] in [
        r["trial_id"] for r in resumed if r["best"]["val_accuracy"] == best
    ]
    assert final["test_size"] == 64 and 0 <= final["test_accuracy"] <= 1
    invoke("resume", older, "--n-more", "1")
    assert len(results(older)) == 3
