"""Evaluation every N steps and step budgets (train.eval_every, train.max_steps)."""

from __future__ import annotations

import numpy as np
import pytest
from support import configs, tiny_dataset

from jaxtune.data import bucketing
from jaxtune.engine import Engine
from jaxtune.plan import plan_populations
from jaxtune.population.status import EarlyStopping
from jaxtune.rounds import Call, Round, Track, evaluation_rounds, steps_per_epoch
from jaxtune.search.samplers import Trial

BUCKETS = (6, 10)
BASE = {"architecture": "gru", "hidden_size": 8, "embedding_dim": 8, "batch_size": 16}


def epoch_plan(epoch):
    lengths = tiny_dataset().train.lengths
    return bucketing.train_plan(lengths, 16, seed=0, epoch=epoch, buckets=BUCKETS, block_steps=4)


def groups(rounds, ratio, r_index=0):
    """(length, example ids) of every real step a config of `ratio` takes in the rounds'
    calls (rows bounds[r_index] of each block, `ratio` rows per step), in order."""
    out = []
    for round_ in rounds:
        for call in round_.calls:
            lo, hi = call.bounds[r_index]
            b = call.block
            for s in range(lo, hi, ratio):
                rows = slice(s, s + ratio)
                if b.weight[rows].sum() > 0:
                    out.append((b.length, tuple(b.index[rows][b.weight[rows] > 0])))
    return out


def stream_groups(blocks, ratio):
    """The same for whole blocks: the stream a config of `ratio` trains on alone."""
    bounds = np.array([[0, 4]], np.int32)
    return groups([Round([Call(b, bounds) for b in blocks], frozenset(), {})], ratio)


@pytest.mark.parametrize("every", [1, 3, 7, 10, 25])
def test_rounds_cut_the_epoch_stream_into_equal_steps_with_one_block_shape(every):
    per_epoch = steps_per_epoch(epoch_plan(0))
    total = 2 * per_epoch + 3
    track = Track(1, total)
    rounds = list(evaluation_rounds(epoch_plan, ratios=(1,), tracks=[track], every=every, piece=4))
    stream = stream_groups(epoch_plan(0) + epoch_plan(1) + epoch_plan(2), 1)[:total]
    assert groups(rounds, 1) == stream  # each step once, in order
    assert [len(groups([r], 1)) for r in rounds[:-1]] == [every] * (len(rounds) - 1)
    assert all(r.due == {track} for r in rounds)
    previous = rounds[-2].steps[1] if len(rounds) > 1 else 0
    assert rounds[-1].steps[1] == total and 0 < total - previous <= every
    assert {c.block.index.shape for r in rounds for c in r.calls} == {(4, 16)}


def test_per_epoch_rounds_are_the_epochs_unchanged():
    per_epoch = steps_per_epoch(epoch_plan(0))
    track = Track(1, 3 * per_epoch)
    rounds = list(evaluation_rounds(epoch_plan, ratios=(1,), tracks=[track], every=None, piece=4))
    assert [r.steps[1] for r in rounds] == [per_epoch, 2 * per_epoch, 3 * per_epoch]
    for epoch, r in enumerate(rounds):
        expected = epoch_plan(epoch)
        assert len(r.calls) == len(expected)
        for got, want in zip(r.calls, expected, strict=True):
            np.testing.assert_array_equal(got.block.index, want.index)
            np.testing.assert_array_equal(got.block.weight, want.weight)
            np.testing.assert_array_equal(got.bounds, [[0, 4]])


@pytest.mark.parametrize("every", [None, 1, 3, 5])
def test_mixed_ratios_each_take_their_own_steps_once_and_are_due_at_their_own_marks(every):
    """Ratios 1, 2, 4 (batch sizes 16, 32, 64 on one stream) and budgets that end inside
    an epoch: every ratio takes each of its steps once, in the stream's order, and each
    track is due after every `every` of its own steps (or each epoch) and at its budget."""
    ratios = (1, 2, 4)
    per_epoch = {r: steps_per_epoch(epoch_plan(0), r) for r in ratios}
    tracks = [Track(1, 2 * per_epoch[1] + 5), Track(2, per_epoch[2] + 1), Track(4, 3)]
    tracks.append(Track(1, per_epoch[1]))  # a second budget of ratio 1: one epoch
    rounds = list(evaluation_rounds(epoch_plan, ratios=ratios, tracks=tracks, every=every, piece=4))
    blocks = epoch_plan(0) + epoch_plan(1) + epoch_plan(2)
    for i, r in enumerate(ratios):
        budget = max(t.total for t in tracks if t.ratio == r)
        assert groups(rounds, r, i) == stream_groups(blocks, r)[:budget]
    for track in tracks:
        i = ratios.index(track.ratio)
        marks = [len(groups(rounds[: n + 1], track.ratio, i)) for n, r in enumerate(rounds)
                 if track in r.due]  # fmt: skip
        assert marks == [r.steps[track.ratio] for r in rounds if track in r.due]
        if every is None:  # each epoch's end, and the budget
            whole = range(per_epoch[track.ratio], track.total, per_epoch[track.ratio])
            assert marks == [*whole, track.total]
        else:
            assert marks == [*range(every, track.total, every), track.total]
    assert {c.block.index.shape for r in rounds for c in r.calls} == {(4, 16)}
    for call in (c for r in rounds for c in r.calls):
        assert np.all(call.bounds % np.array(ratios)[:, None] == 0)


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


@pytest.mark.parametrize("buckets", [BUCKETS])  # unbucketed: test_merge's own-steps test
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
