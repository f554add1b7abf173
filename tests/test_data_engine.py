"""Real data through the engine: bucketed epochs, pretrained embeddings, files from the CLI."""

from __future__ import annotations

import functools
import gzip
import json
from pathlib import Path

import jax
import numpy as np
import pytest
import yaml
from support import SEED, configs, select, tiny_dataset
from typer.testing import CliRunner

from jaxtune.cli import app
from jaxtune.data import bucketing
from jaxtune.engine import Engine
from jaxtune.plan import plan_populations
from jaxtune.population.factory import make_population
from jaxtune.population.hparams import hparam_arrays, trial_keys
from jaxtune.population.program import program_for
from jaxtune.population.status import EarlyStopping
from jaxtune.population.step import to_device
from jaxtune.rounds import steps_per_epoch
from jaxtune.search.samplers import Trial

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
BUCKETS = (5, 7, 10)  # tiny_dataset(): lengths 4..10
BASE = {"architecture": "lstm", "hidden_size": 8, "embedding_dim": 8, "batch_size": 16}
VARIATIONS = [
    {"learning_rate": 1e-2, "dropout": 0.0},
    {"learning_rate": 3e-3, "dropout": 0.3, "recurrent_dropout": 0.2, "focal_gamma": 1.0},
    {"learning_rate": 2e-2, "dropout": 0.1, "embedding_trainable": False},
]
runner = CliRunner()


def train_bucketed(configs_, population, trial_ids, epochs=2, embedding=None):
    """Bucketed epochs through `train_round` (a population, or one config alone: width 1
    on one device)."""
    dataset = tiny_dataset()
    trainer = make_population(
        program_for(configs_[0], dataset), EarlyStopping(), devices=None if population else 1
    )
    plan = functools.partial(
        bucketing.train_plan,
        dataset.train.lengths,
        configs_[0]["batch_size"],
        seed=SEED,
        buckets=BUCKETS,
        block_steps=4,
    )
    hparams = hparam_arrays(configs_, steps_per_epoch=steps_per_epoch(plan(epoch=0)))
    state = trainer.init(hparams, trial_keys(SEED, trial_ids), embedding)
    splits = {b: to_device(dataset.train.truncate(b)) for b in BUCKETS}
    losses = []
    for epoch in range(epochs):
        total = None
        for block in plan(epoch=epoch):
            state, metrics = trainer.train_round(
                state, splits[block.length], block.index, block.weight, np.float32(100.0)
            )
            total = metrics if total is None else jax.tree.map(np.add, total, metrics)
        losses.append(np.asarray(total["loss_sum"]) / np.maximum(np.asarray(total["count"]), 1))
    return state, losses, total


def test_bucketed_population_matches_solo_and_sees_every_example():
    population = configs(BASE, VARIATIONS)
    plan = bucketing.train_plan(
        tiny_dataset().train.lengths, 16, seed=SEED, epoch=0, buckets=BUCKETS, block_steps=4
    )
    assert bucketing.empty_steps(plan) > 0  # the fill steps are exercised
    assert len({block.length for block in plan}) == len(BUCKETS)
    state, losses, last = train_bucketed(population, True, [0, 1, 2])
    assert np.all(np.asarray(last["count"]) == len(tiny_dataset().train))  # each example once
    for k, config in enumerate(population):
        solo_state, solo_losses, _ = train_bucketed([config], False, [k])
        solo_state = select(solo_state, 0)
        np.testing.assert_allclose(
            [loss[k] for loss in losses], [loss[0] for loss in solo_losses], rtol=1e-5
        )
        # atol 1e-5: the vmapped and single programs round differently, and Adam divides
        # a rarely seen embedding row's tiny gradient by its tiny second moment, so such a
        # row can move by a rounding-sized step more or less. On a Zen 5 CPU (2026-12-04)
        # one element of 1128 (config 1, embedding row 88) differed by 3.9e-6 after 2
        # epochs, far below what a slot-dependent key or a mixed-up config would change.
        jax.tree_util.tree_map_with_path(
            lambda path, a, b, k=k: np.testing.assert_allclose(
                a, b, rtol=1e-5, atol=1e-5, err_msg=f"config {k} {jax.tree_util.keystr(path)}"
            ),
            select(state.train.params, k),
            solo_state.train.params,
        )
        assert int(state.train.step[k]) == int(solo_state.train.step)
    # Fill steps are skipped: steps taken = real minibatches over both epochs.
    real_steps = sum(
        int((block.weight.sum(axis=1) > 0).sum())
        for epoch in range(2)
        for block in bucketing.train_plan(
            tiny_dataset().train.lengths, 16, seed=SEED, epoch=epoch, buckets=BUCKETS, block_steps=4
        )
    )
    assert np.all(np.asarray(state.train.step) == real_steps)


def test_pretrained_rows_stay_bit_identical_when_frozen_and_move_when_fine_tuned():
    dataset = tiny_dataset()
    matrix = np.random.default_rng(0).normal(size=(dataset.vocab_size, 8)).astype(np.float32)
    population = configs(BASE, [{"embedding_trainable": False}, {"embedding_trainable": True}])
    state, _, _ = train_bucketed(population, True, [0, 1], epochs=1, embedding=matrix)
    table = np.asarray(state.train.params["embedding"]["embedding"])  # [K, V, E]
    np.testing.assert_array_equal(table[0], matrix)
    assert not np.array_equal(table[1], matrix)
    np.testing.assert_array_equal(
        np.asarray(state.life.best_params["embedding"]["embedding"])[0], matrix
    )


def test_engine_records_per_class_accuracy_and_applies_class_weights():
    dataset = tiny_dataset()
    trials = [Trial(i, c) for i, c in enumerate(configs({**BASE, "epochs": 1}, VARIATIONS[:2]))]
    [plan] = plan_populations(trials, 8)
    records = {}
    for weights in (None, (1.0, 5.0, 1.0)):
        engine = Engine(
            dataset,
            seed=SEED,
            early_stopping=EarlyStopping(),
            buckets=BUCKETS,
            class_weights=weights,
            chunk=1,
        )
        records[weights] = engine.run(plan)
    plain, weighted = records[None], records[(1.0, 5.0, 1.0)]
    per_class = plain[0]["history"][0]["val_per_class_accuracy"]
    assert len(per_class) == dataset.num_classes
    counts = np.bincount(dataset.val.labels, minlength=dataset.num_classes)
    np.testing.assert_allclose(  # accuracy is the support-weighted mean of per-class accuracy
        np.dot(per_class, counts) / counts.sum(), plain[0]["history"][0]["val_accuracy"], rtol=1e-5
    )
    assert plain[0]["history"][0]["train_loss"] != weighted[0]["history"][0]["train_loss"]


def _csv(tmp_path: Path, rows, name="reviews.csv.gz") -> Path:
    path = tmp_path / name
    with gzip.open(path, "wt") as f:
        f.write("review,stars\n")
        f.writelines(rows)
    return path


def _own_rows(count=240):
    rng = np.random.default_rng(1)
    good, bad = ["great fun", "loved it", "superb acting"], ["dull plot", "hated it", "awful mess"]
    rows = []
    for i in range(count):
        positive = i % 2 == 0
        words = " ".join(rng.choice(good if positive else bad, size=int(rng.integers(1, 4))))
        rows.append(f"{words} movie {i},{'pos' if positive else 'neg'}\n")
    return rows


def _spec(tmp_path: Path, data: dict) -> Path:
    spec = {
        "name": "own",
        "data": data,
        "model": {"architecture": "gru", "hidden_size": 8, "embedding_dim": 8, "batch_size": 32},
        "train": {"epochs": 1},
        "parameters": {"learning_rate": {"values": [0.01, 0.03]}},
    }
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_users_own_csv_runs_from_the_cli(tmp_path):
    _csv(tmp_path, _own_rows())
    spec = _spec(
        tmp_path,
        {"train": "reviews.csv.gz", "text_column": "review", "label_column": "stars", "buckets": 2},
    )
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["sweep", str(spec), "--data-dir", str(tmp_path), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "data: reviews (files): 192 train / 24 val / 24 test; 2 classes" in result.output
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(records) == 2 and all(r["status"] == "completed" for r in records)
    assert (out / "tokenizer.json").exists()
    # final finds the data where the sweep did (run.json), without --data-dir again.
    result = runner.invoke(app, ["final", str(out)], env={"JAXTUNE_DATA_DIR": ""})
    assert result.exit_code == 0, result.output
    assert json.loads((out / "final.json").read_text())["test_size"] == 24


def test_bad_data_line_is_one_line_exit_2_or_counted_with_skip(tmp_path):
    rows = _own_rows()
    rows[6] = "no comma on this line\n"  # file line 8: header + 7th row
    _csv(tmp_path, rows)
    spec = _spec(
        tmp_path, {"train": "reviews.csv.gz", "text_column": "review", "label_column": "stars"}
    )
    out = tmp_path / "out"
    args = ["sweep", str(spec), "--data-dir", str(tmp_path), "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    [line] = result.stderr.splitlines()
    assert line.startswith(f"error: {tmp_path / 'reviews.csv.gz'}:8: ")
    assert not out.exists()  # a failed sweep leaves no half-made directory
    result = runner.invoke(app, [*args, "--skip-bad-lines"])
    assert result.exit_code == 0, result.output
    assert "skipped: 1 bad lines" in result.output


@pytest.mark.slow
def test_gru_on_the_full_emotion_data_reaches_85_percent(tmp_path):
    if not (SHARED_DATA / "emotion").is_dir():
        pytest.skip(f"{SHARED_DATA / 'emotion'} not found")
    spec = tmp_path / "emotion.yaml"
    spec.write_text(
        yaml.safe_dump(
            {
                "name": "emotion_gru",
                "data": {
                    "name": "emotion",
                    "embedding": {"pretrained": "glove/glove.6B.50d.subset.txt.gz"},
                },
                "model": {"architecture": "gru", "hidden_size": 64, "batch_size": 64},
                "train": {"epochs": 4},
                "parameters": {"learning_rate": {"values": [0.003]}},
            }
        )
    )
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["sweep", str(spec), "--data-dir", str(SHARED_DATA), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    [record] = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert record["best"]["val_accuracy"] > 0.85
