"""Evaluation every N steps and step budgets (train.eval_every, train.max_steps)."""

from __future__ import annotations

import numpy as np
import pytest
from support import configs, tiny_dataset

from jaxtune.data import bucketing
from jaxtune.engine import Engine
from jaxtune.plan import plan_populations
from jaxtune.population.status import EarlyStopping
from jaxtune.rounds import evaluation_rounds, real_steps, steps_per_epoch
from jaxtune.search.samplers import Trial

BUCKETS = (6, 10)
BASE = {"architecture": "gru", "hidden_size": 8, "embedding_dim": 8, "batch_size": 16}


def epoch_plan(epoch):
    lengths = tiny_dataset().train.lengths
    return bucketing.train_plan(lengths, 16, seed=0, epoch=epoch, buckets=BUCKETS, block_steps=4)


def real_rows(blocks):
    """(length, example ids) of every real step, in order."""
    return [
        (b.length, tuple(b.index[s][b.weight[s] > 0]))
        for b in blocks
        for s in range(b.steps)
        if b.weight[s].sum() > 0
    ]


@pytest.mark.parametrize("every", [1, 3, 7, 10, 25])
def test_rounds_cut_the_epoch_stream_into_equal_steps_with_one_block_shape(every):
    per_epoch = steps_per_epoch(epoch_plan(0))
    total = 2 * per_epoch + 3
    rounds = list(
        evaluation_rounds(epoch_plan, every=every, total_steps=total, per_epoch=per_epoch, piece=4)
    )
    stream = real_rows(epoch_plan(0) + epoch_plan(1) + epoch_plan(2))[:total]
    assert real_rows([b for r in rounds for b in r.blocks]) == stream  # each step once, in order
    assert [sum(real_steps(b) for b in r.blocks) for r in rounds[:-1]] == [every] * (
        len(rounds) - 1
    )
    previous = rounds[-2].steps if len(rounds) > 1 else 0
    assert rounds[-1].steps == total and 0 < total - previous <= every
    assert {b.index.shape for r in rounds for b in r.blocks} == {(4, 16)}


def test_per_epoch_rounds_are_the_epochs_unchanged():
    per_epoch = steps_per_epoch(epoch_plan(0))
    rounds = list(
        evaluation_rounds(
            epoch_plan, every=per_epoch, total_steps=3 * per_epoch, per_epoch=per_epoch, piece=4
        )
    )
    assert [r.epochs for r in rounds] == [1.0, 2.0, 3.0]
    for epoch, r in enumerate(rounds):
        expected = epoch_plan(epoch)
        assert len(r.blocks) == len(expected)
        for got, want in zip(r.blocks, expected, strict=True):
            np.testing.assert_array_equal(got.index, want.index)
            np.testing.assert_array_equal(got.weight, want.weight)


def run(config_list, *, trial_ids=None, buckets=BUCKETS, **engine_options):
    trial_ids = trial_ids or range(len(config_list))
    trials = [Trial(i, c) for i, c in zip(trial_ids, config_list, strict=True)]
    [plan] = plan_populations(trials, 8)
    engine_options.setdefault("early_stopping", EarlyStopping(patience=None))
    engine = Engine(tiny_dataset(), seed=0, buckets=buckets, **engine_options)
    return engine.run(plan)


def assert_same_curve(a, b):
    """Equal histories but for `step`, metrics to float rounding (population vs alone)."""
    assert [h["epoch"] for h in a] == [h["epoch"] for h in b]
    for x, y in zip(a, b, strict=True):
        for name in ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "learning_rate"):
            np.testing.assert_allclose(x[name], y[name], rtol=1e-5, err_msg=name)


@pytest.mark.parametrize("buckets", [BUCKETS, None])
def test_eval_every_n_steps_population_equals_each_config_alone(buckets):
    """Budgets of 1 and 2 epochs, evaluations every 7 steps: a config that spent its budget
    takes no further step, so inside the population it equals itself trained alone."""
    population = configs(
        BASE, [{"epochs": 1, "learning_rate": 0.01}, {"epochs": 2, "dropout": 0.2}]
    )
    together = run(population, buckets=buckets, eval_every=7)
    per_epoch = 10  # 160 examples, batch 16
    if buckets is not None:
        per_epoch = steps_per_epoch(epoch_plan(0))
    for k, config in enumerate(population):
        alone = run([config], trial_ids=[k], buckets=buckets, eval_every=7)[0]
        mine = together[k]
        assert mine["status"] == alone["status"] == "completed"
        assert_same_curve(mine["history"], alone["history"])
        budget = config["epochs"] * per_epoch
        assert alone["history"][-1]["step"] == budget
        assert len(alone["history"]) == -(-budget // 7)
        assert [h["step"] for h in alone["history"][:-1]] == [
            7 * (i + 1) for i in range(len(alone["history"]) - 1)
        ]


def test_eval_every_epoch_equals_the_default_and_max_steps_is_the_budget():
    population = configs(BASE, [{"epochs": 2}, {"epochs": 2, "learning_rate": 0.01}])
    per_epoch = steps_per_epoch(epoch_plan(0))
    default = run(population)
    every_epoch = run(population, eval_every=per_epoch)
    for record in every_epoch:  # only the wording of the reason differs
        assert record.pop("status_reason").startswith("ran 2 evaluations of")
    assert every_epoch == [{k: v for k, v in r.items() if k != "status_reason"} for r in default]
    assert [h["step"] for h in default[0]["history"]] == [per_epoch, 2 * per_epoch]
    assert default[0]["status_reason"].startswith("ran 2 epochs")
    stopped = run(population, eval_every=3, early_stopping=EarlyStopping(patience=1))
    for record in stopped:
        if record["status"] == "stopped":
            assert record["status_reason"].startswith("early stopping after evaluation ")
            assert "for 1 evaluations; restored evaluation" in record["status_reason"]
    assert any(r["status"] == "stopped" for r in stopped)
    capped = run(population, max_steps=5, eval_every=2)
    for record in capped:
        assert [h["step"] for h in record["history"]] == [2, 4, 5]
        assert record["status"] == "completed"
        assert record["status_reason"].startswith("ran 3 evaluations of 2 steps")
