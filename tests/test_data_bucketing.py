"""Length bucketing: each example once per epoch, seeded order, fixed block shapes, less padding."""

import gzip
import itertools
from pathlib import Path

import numpy as np
import pytest

from jaxtune.data.bucketing import (
    bucket_of,
    choose_buckets,
    empty_steps,
    eval_plan,
    padding_waste,
    train_plan,
)

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def skewed_lengths(n=1000, seed=0):
    """Short texts with a long tail, like tweets."""
    rng = np.random.default_rng(seed)
    return np.clip(rng.lognormal(2.8, 0.5, n).astype(np.int32), 1, 80)


def check_covers_each_example_once(plan, lengths):
    real = np.concatenate([block.index[block.weight > 0] for block in plan])
    assert sorted(real.tolist()) == list(range(len(lengths)))


def test_choose_buckets_matches_brute_force():
    rng = np.random.default_rng(1)
    lengths = rng.integers(1, 25, 300)
    values = np.unique(lengths)
    for k in (1, 2, 3, 4):
        best = min(
            (padding_waste(lengths, (*inner, values[-1])), (*inner, values[-1]))
            for size in range(k)
            for inner in itertools.combinations(values[:-1].tolist(), size)
        )
        chosen = choose_buckets(lengths, k)
        assert len(chosen) <= k and chosen[-1] == lengths.max()
        assert padding_waste(lengths, chosen) == pytest.approx(best[0])
    assert choose_buckets([3, 5, 5, 3], 4) == (3, 5)


def test_train_plan_covers_every_example_once_with_fixed_block_shapes():
    lengths = skewed_lengths()
    buckets = choose_buckets(lengths, 4)
    plan = train_plan(lengths, 32, seed=0, epoch=0, buckets=buckets, block_steps=4)
    check_covers_each_example_once(plan, lengths)
    for block in plan:
        assert block.index.shape == (4, 32) and block.index.dtype == np.int32
        assert block.weight.shape == (4, 32) and block.weight.dtype == np.float32
        assert block.length in buckets
        for index, weight in zip(block.index, block.weight, strict=True):
            assert np.all(index[weight == 0] == 0)  # padding slots: index 0, weight 0
            if weight.any():
                longest = lengths[index[weight > 0]].max()
                assert block.length == buckets[bucket_of(longest, buckets)]  # the smallest fit
    partial = [w.sum() for block in plan for w in block.weight if 0 < w.sum() < 32]
    assert partial == [len(lengths) % 32]  # only the epoch's last batch is partly filled
    assert empty_steps(plan) == sum(block.steps for block in plan) - -(-len(lengths) // 32)


def test_train_plan_depends_only_on_seed_epoch_and_lengths():
    lengths = skewed_lengths()
    options = dict(buckets=choose_buckets(lengths, 3), block_steps=8)

    def flat(plan):
        return [(b.length, b.index.tolist(), b.weight.tolist()) for b in plan]

    first = train_plan(lengths, 16, seed=7, epoch=2, **options)
    assert flat(first) == flat(train_plan(lengths.copy(), 16, seed=7, epoch=2, **options))
    assert flat(first) != flat(train_plan(lengths, 16, seed=7, epoch=3, **options))
    assert flat(first) != flat(train_plan(lengths, 16, seed=8, epoch=2, **options))


def test_batches_hold_similar_lengths_so_padding_drops():
    lengths = skewed_lengths(4000)
    buckets = choose_buckets(lengths, 4)
    plan = train_plan(lengths, 32, seed=0, epoch=0, buckets=buckets, block_steps=8)
    waste = padding_waste(lengths, plan)
    assert 1.0 <= padding_waste(lengths, buckets) <= waste
    assert waste < 0.5 * padding_waste(lengths, int(lengths.max()))
    single = train_plan(lengths, 32, seed=0, epoch=0, buckets=[lengths.max()], block_steps=8)
    assert padding_waste(lengths, single) == pytest.approx(
        padding_waste(lengths, int(lengths.max()))
    )


def test_eval_plan_visits_each_example_once_in_file_order_per_bucket():
    lengths = skewed_lengths(500)
    buckets = choose_buckets(lengths, 3)
    plan = eval_plan(lengths, 64, buckets)
    check_covers_each_example_once(plan, lengths)
    assert [block.length for block in plan] == sorted(block.length for block in plan)
    for block in plan:
        real = block.index[block.weight > 0]
        assert np.all(np.diff(real) > 0)
        assert np.all(bucket_of(lengths[real], buckets) == buckets.index(block.length))


def test_bad_buckets_are_rejected():
    with pytest.raises(ValueError, match="above the largest bucket 10"):
        train_plan(np.array([3, 12]), 2, seed=0, epoch=0, buckets=[5, 10], block_steps=1)
    with pytest.raises(ValueError, match="increasing positive lengths"):
        eval_plan(np.array([3]), 2, [5, 5])


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"shared data not found at {SHARED}")
def test_emotion_padding_waste_is_under_1_3x_with_five_buckets():
    with gzip.open(SHARED / "emotion" / "train.txt.gz", "rt", encoding="utf-8") as lines:
        # The texts are lowercase without punctuation: whitespace words are the tokens.
        lengths = np.array([len(line.rsplit(";", 1)[0].split()) for line in lines])
    plain = padding_waste(lengths, int(lengths.max()))
    buckets = choose_buckets(lengths, 5)
    plan = train_plan(lengths, 32, seed=0, epoch=0, buckets=buckets, block_steps=16)
    assert 3.0 < plain < 3.6
    assert padding_waste(lengths, plan) < 1.3
