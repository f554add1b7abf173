"""max_length as a swept hyperparameter: a static group per value, data truncated to it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from support import configs, tiny_dataset

from jaxtune.engine import DataView, Engine, clip_buckets
from jaxtune.plan import plan_populations
from jaxtune.samplers import Trial, sample
from jaxtune.schedulers import EarlyStopping
from jaxtune.spec import SpecError, parse_spec

BASE = {"architecture": "gru", "hidden_size": 8, "embedding_dim": 8, "batch_size": 16, "epochs": 2}


def test_each_value_is_its_own_static_group_and_nothing_else_splits():
    spec = parse_spec(
        {
            "data": {"max_length": 16},
            "parameters": {
                "max_length": {"values": [8, 16]},
                "learning_rate": {"values": [0.01, 0.001]},
            },
        },
        "s.yaml",
    )
    trials, _ = sample(spec)
    plans = plan_populations(trials, 64)
    assert [sorted({t.config["max_length"] for t in p.trials}) for p in plans] == [[8], [16]]
    assert [p.width for p in plans] == [2, 2]


def test_clip_buckets_and_the_truncated_view():
    assert clip_buckets((4, 6, 10), 6) == (4, 6)
    assert clip_buckets((4, 6, 10), 5) == (4, 5)
    assert clip_buckets((4, 6, 10), 10) == (4, 6, 10)
    assert clip_buckets(None, 5) is None
    dataset = tiny_dataset()
    view = DataView.of(dataset, 5, (4, 10), eval_batch_size=32)
    np.testing.assert_array_equal(view.train.tokens, dataset.train.tokens[:, :5])
    np.testing.assert_array_equal(view.train.lengths, np.minimum(dataset.train.lengths, 5))
    assert view.buckets == (4, 5) and sorted(view.train_splits) == [4, 5]
    assert max(view.val_plan.splits) == 5


def truncated(dataset, width):
    return dataclasses.replace(
        dataset,
        train=dataset.train.truncate(width),
        val=dataset.val.truncate(width),
        test=dataset.test.truncate(width),
    )


@pytest.mark.parametrize("buckets", [None, (6, 10)])
def test_a_config_trains_on_its_first_max_length_tokens(buckets):
    """max_length 6 on width-10 data trains exactly like max_length null on data cut to 6."""
    config = configs(BASE, [{"max_length": 6}])[0]
    [plan] = plan_populations([Trial(0, config)], 8)
    engine = Engine(tiny_dataset(), seed=0, early_stopping=EarlyStopping(), buckets=buckets)
    cut = Engine(
        truncated(tiny_dataset(), 6),
        seed=0,
        early_stopping=EarlyStopping(),
        buckets=None if buckets is None else (6,),
    )
    [mine] = engine.run(plan)
    [reference] = cut.run(plan_populations([Trial(0, {**config, "max_length": None})], 8)[0])
    assert mine["history"] == reference["history"]
    [full] = engine.run(plan_populations([Trial(0, {**config, "max_length": None})], 8)[0])
    assert full["history"] != mine["history"]  # the 4 cut tokens mattered


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            {"data": {"max_length": 12}, "parameters": {"max_length": {"values": [8, 64]}}},
            "parameters.max_length: found 64, above data.max_length 12",
        ),
        (
            {"data": {"max_length": 12}, "model": {"max_length": 13}},
            "model.max_length: found 13, above data.max_length 12",
        ),
    ],
)
def test_a_max_length_above_the_data_width_is_one_line(document, message):
    with pytest.raises(SpecError) as error:
        parse_spec(document, "s.yaml")
    assert str(error.value) == (
        f"s.yaml: {message} (the width the data is encoded at); allowed: 1 to 12 or null; "
        "raise data.max_length to read longer examples"
    )
