"""The head-to-head benchmark (bench/head_to_head.py): its arithmetic on hand-made runs, and
`benchmarks/head_to_head.py --quick` end to end on a slice of the emotion data."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from data_slices import make_slice

from jaxtune.bench.head_to_head import (
    MARKS,
    REFERENCE,
    Run,
    Settings,
    curve,
    jaxtune_spec,
    markdown,
    quick_settings,
    stem_name,
    summarize,
    with_glove,
    write_data,
)
from jaxtune.bench.optuna_torch import Data, bucketed_batches, build_model
from jaxtune.schedulers.halving import SuccessiveHalving
from jaxtune.spec import parse_spec

ROOT = Path(__file__).resolve().parents[1]


def test_best_so_far_and_the_time_to_reach_a_value():
    run = Run("x", 0, [(5.0, 0.5), (2.0, 0.4), (9.0, 0.45), (12.0, 0.7)])
    assert [run.best_at(t) for t in (1.0, 2.0, 6.0, 9.5, 12.0)] == [None, 0.4, 0.5, 0.5, 0.7]
    assert run.reached(0.5, budget=10.0) == 5.0
    assert run.reached(0.7, budget=10.0) is None  # only after the budget
    assert run.reached(0.7, budget=12.0) == 12.0


def test_the_curve_is_the_median_over_seeds_with_its_band_and_nothing_before_half_have_a_value():
    runs = [
        Run("x", 0, [(1.0, 0.2), (3.0, 0.6)]),
        Run("x", 1, [(2.0, 0.4)]),
        Run("x", 2, [(4.0, 0.1)]),
    ]
    got = curve(runs, np.array([0.5, 1.0, 2.0, 3.0, 4.0]))
    # t=1: one of three has a value: no median, no full band; t=2: 0.2, 0.4 and nothing.
    assert math.isnan(got["median"][0]) and math.isnan(got["median"][1])
    assert got["median"][2:] == [0.2, 0.4, 0.4]
    assert math.isnan(got["low"][2]) and got["low"][4] == 0.1
    assert got["high"][1:] == [0.2, 0.4, 0.6, 0.6]


def test_summary_reference_marks_and_time_to_reference():
    settings = Settings(budget=100.0, seeds=(0, 1), contestants=("jaxtune-random", REFERENCE))
    runs = [
        Run(REFERENCE, 0, [(50.0, 0.80), (90.0, 0.86)], tried=7, finished=3, cut=4),
        Run(REFERENCE, 1, [(30.0, 0.82), (99.0, 0.88)], tried=6, finished=2, cut=4),
        Run("jaxtune-random", 0, [(20.0, 0.85), (40.0, 0.90), (150.0, 0.99)], tried=32),
        Run("jaxtune-random", 1, [(25.0, 0.88)], tried=32, test_accuracy=0.9),
    ]
    summary = summarize(settings, runs)
    assert summary["reference"] == pytest.approx(0.87)  # the median of 0.86 and 0.88
    ours = summary["contestants"]["jaxtune-random"]
    # Seed 0 passes 0.87 at 40 s, seed 1 at 25 s.
    assert ours["reaches_reference_s"] == 32.5
    assert ours["at"]["20"] == {"median": None, "min": None, "max": 0.85}
    assert ours["at"]["50"]["median"] == pytest.approx(0.89)  # 0.90 and 0.88
    assert ours["at"]["100"]["max"] == 0.90  # the 0.99 came after the budget
    assert ours["tried"] == [32, 32] and ours["test_accuracy"] == 0.9
    # Its own seeds: 0.86 never reaches 0.87, 0.88 does at 99 s; the median is never.
    assert summary["contestants"][REFERENCE]["reaches_reference_s"] is None
    data = {"data": "emotion", "train": 1, "val": 2, "test": 3, "vocab_size": 4, "max_length": 5}
    text = markdown(settings, summary, {"data": data, "machine": "m"})
    assert text.count("\n| ") == 3  # header and one row per contestant
    assert "| 7/6 | 3/2 | 4/4 | 0/0 |" in text
    assert [f"at {m * 100:g} s" in text for m in MARKS] == [True] * len(MARKS)


@pytest.mark.parametrize("method", ["random", "bayes", "hyperband", "asha", "bayes-asha"])
def test_the_jaxtune_contestants_specs_are_valid_specs_of_the_space(method):
    settings = quick_settings(None)
    spec = parse_spec(jaxtune_spec(settings, method, seed=3))
    assert spec.method == ("bayes" if "bayes" in method else "random") and spec.seed == 3
    pruned = spec.early_terminate is not None
    assert pruned == (method == "hyperband")
    assert not pruned or spec.early_terminate.bands[:3] == (1, 3, 9)
    assert (spec.scheduler is not None) == method.endswith("asha")
    assert not method.endswith("asha") or spec.scheduler == SuccessiveHalving(1, 3)
    assert spec.budget.time_limit == settings.budget
    assert {*spec.parameters, *spec.distributions} == set(settings.space)
    assert spec.distributions["learning_rate"].kind == "log_uniform_values"
    assert spec.distributions["learning_rate"].min == settings.space["learning_rate"]["min"]


def test_the_pytorch_batches_cover_the_epoch_once_sorted_by_length_inside_chunks():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 40, size=1000)
    batches = bucketed_batches(lengths, 16, rng)
    ids = np.concatenate(batches)
    assert sorted(ids.tolist()) == list(range(1000))
    assert sorted(len(b) for b in batches) == [1000 % 16] + [16] * (1000 // 16)
    spans = [np.ptp(lengths[b]) for b in batches]
    assert np.median(spans) <= 2  # a batch holds examples of nearly one length


# One contestant of each code path: jaxtune-bayes differs from jaxtune-random only in its
# spec (parsed above), optuna-median from optuna-hyperband only in its pruner's name.
QUICK_CONTESTANTS = ["jaxtune-random", "optuna-hyperband", "optuna-jobs"]


@pytest.mark.slow  # the head to head end to end, 70 s: `make test-slow` (CI)
def test_quick_run_end_to_end(tmp_path):
    """One seed, seconds each, on a slice of the emotion data: each contestant writes its
    curve, its counts and its winner's test accuracy."""
    pytest.importorskip("torch")
    data_dir = make_slice(tmp_path / "data")
    out, work = tmp_path / "out", tmp_path / "work"
    command = [sys.executable, str(ROOT / "benchmarks" / "head_to_head.py"), "--quick"]
    command += ["--data-dir", str(data_dir), "--out", str(out), "--work", str(work)]
    command += ["--contestants", *QUICK_CONTESTANTS]
    # Tiny programs compile faster unoptimised; the sweeps start their own CPU devices.
    env = {**os.environ, "XLA_FLAGS": "--xla_backend_optimization_level=0"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=ROOT, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    document = json.loads((out / "head_to_head_emotion.json").read_text())
    settings = document["settings"]
    assert document["meta"]["data"]["train"] == 300
    speed = document["meta"]["torch_speed"]
    assert speed["ratio"] == pytest.approx(speed["head_to_head"] / speed["throughput_baseline"])
    assert set(document["contestants"]) == set(QUICK_CONTESTANTS)
    for name, row in document["contestants"].items():
        [run] = row["runs"]
        assert run["events"], f"{name} logged no evaluation: see {work}"
        assert all(0 <= v <= 1 and t > 0 for t, v in run["events"])
        median = [v for v in row["curve"]["median"] if not math.isnan(v)]
        assert median == sorted(median)
        assert run["tried"] >= 1 and run["finished"] + run["cut"] + run["failed"] == run["tried"]
        assert 0 <= row["test_accuracy"] <= 1, name
        if name.startswith("jaxtune"):
            assert run["tried"] <= settings["run_cap"]
    ours = document["contestants"]["jaxtune-random"]["runs"][0]
    assert ours["extra"]["winner"]["architecture"] == "gru"
    assert (out / "head_to_head_emotion.png").read_bytes()[:4] == b"\x89PNG"
    assert "| optuna-jobs |" in (out / "head_to_head_emotion.md").read_text()


def test_a_report_written_after_a_run_is_read_back_to_append_more_seeds(tmp_path):
    from jaxtune.bench.head_to_head import earlier_runs, without_sitting, write_report

    settings = Settings(budget=100.0, seeds=(0, 1, 2), contestants=(REFERENCE,))
    runs = [Run(REFERENCE, 1, [(50.0, 0.8)], tried=3, finished=1, cut=2, test_accuracy=0.7)]
    data = {"data": "emotion", "train": 1, "val": 2, "test": 3, "vocab_size": 4, "max_length": 5}
    document = write_report(settings, runs, {"data": data, "machine": "m"}, tmp_path / "h2h")
    assert list(document["settings"]["seeds"]) == [1]  # the seeds it has run so far
    assert earlier_runs(settings, tmp_path / "h2h.json") == runs
    with pytest.raises(SystemExit, match=r"these differ: \['budget'\]"):
        earlier_runs(Settings(budget=60.0, contestants=(REFERENCE,)), tmp_path / "h2h.json")
    assert earlier_runs(settings, tmp_path / "missing.json") == []
    # A report written before a setting existed ran with its default (glove's embedding).
    saved = json.loads((tmp_path / "h2h.json").read_text())
    del saved["settings"]["embedding"]
    (tmp_path / "older.json").write_text(json.dumps(saved))
    assert earlier_runs(settings, tmp_path / "older.json") == runs
    saved["settings"]["budget"] = 60.0
    (tmp_path / "older.json").write_text(json.dumps(saved))
    with pytest.raises(SystemExit, match=r"these differ: \['budget'\]"):
        earlier_runs(settings, tmp_path / "older.json")
    # A later sitting may run another contestant; the report holds both, in CONTESTANTS order.
    other = Settings(budget=100.0, seeds=(0,), contestants=("jaxtune-hyperband",))
    assert earlier_runs(other, tmp_path / "h2h.json") == runs
    more = [*runs, Run("jaxtune-hyperband", 0, [(10.0, 0.9)], tried=1, finished=1)]
    document = write_report(other, more, {"data": data, "machine": "m"}, tmp_path / "h2h")
    assert list(document["contestants"]) == ["jaxtune-hyperband", REFERENCE]
    assert list(document["settings"]["seeds"]) == [0, 1]
    # --replace: this sitting's contestants and seeds run again, the rest are kept.
    assert without_sitting(more, other) == runs
    assert without_sitting(more, dataclasses.replace(other, seeds=(1,))) == more


def test_the_glove_variant_gives_both_sides_the_same_vectors_frozen_or_fine_tuned(tmp_path):
    """--glove: jaxtune's spec sweeps embedding_trainable over GloVe 50d; the PyTorch side
    starts from the rows jaxtune starts from and freezes them when the config says so."""
    settings = with_glove(quick_settings(str(make_slice(tmp_path / "data"))))
    assert stem_name(settings) == "head_to_head_emotion_glove"
    spec = parse_spec(jaxtune_spec(settings, "random", seed=0))
    assert spec.data.pretrained == settings.embedding
    assert spec.parameters["embedding_trainable"] == [True, False]
    assert "embedding_dim" not in spec.fixed  # the vectors' width
    write_data(settings, tmp_path / "data.npz")
    data = Data(tmp_path / "data.npz")
    assert data.vectors.shape == (data.vocab_size, 50)
    assert np.abs(data.vectors[2:]).sum() > 0  # rows of real vectors, not zeros
    config = {"architecture": "gru", "hidden_size": 8, "dropout": 0.1}
    for trainable in (True, False):
        model = build_model(
            {**config, "embedding_trainable": trainable},
            data.vocab_size,
            data.num_classes,
            data.vectors,
        )
        weight = model.embedding.weight
        assert weight.requires_grad == trainable
        np.testing.assert_array_equal(weight.detach().numpy(), data.vectors)
    plain = quick_settings(str(tmp_path / "data"))  # the default: a learned table
    assert stem_name(plain) == "head_to_head_emotion"
    write_data(plain, tmp_path / "plain.npz")
    assert Data(tmp_path / "plain.npz").vectors is None
