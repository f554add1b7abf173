"""max_length as a swept hyperparameter: a static group per value, data truncated to it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from support import configs, tiny_dataset

from jaxtune.data.dataset import Split
from jaxtune.data.widths import clip_buckets, config_width
from jaxtune.engine import Engine
from jaxtune.memory import estimate_memory
from jaxtune.plan import Shapes, plan_populations
from jaxtune.population.status import EarlyStopping
from jaxtune.search.samplers import Trial, sample
from jaxtune.space import complete_config, static_signature
from jaxtune.spec import SpecError, parse_spec
from jaxtune.spec.data import DEFAULT_MAX_LENGTH
from jaxtune.views import DataView

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


def test_only_max_length_splits_the_signature_of_otherwise_equal_configs():
    base = complete_config({**BASE, "max_length": 8})
    dynamic = {"learning_rate": 0.3, "dropout": 0.4, "weight_decay": 0.01, "seed": 7}
    assert static_signature(base) == static_signature({**base, **dynamic})
    assert static_signature(base) != static_signature({**base, "max_length": 16})
    assert static_signature(base) != static_signature({**base, "max_length": None})
    assert [k for k, _ in static_signature(base)].count("max_length") == 1


def test_truncation_keeps_the_first_tokens_as_hand_written():
    split = Split(
        tokens=np.array([[5, 6, 7, 8, 0], [9, 10, 0, 0, 0], [11, 12, 13, 14, 15]], np.int32),
        lengths=np.array([4, 2, 5], np.int32),
        labels=np.array([0, 1, 0], np.int32),
    )
    cut = split.truncate(config_width({"max_length": 3}, split.max_length))
    np.testing.assert_array_equal(cut.tokens, [[5, 6, 7], [9, 10, 0], [11, 12, 13]])
    np.testing.assert_array_equal(cut.lengths, [3, 2, 3])
    np.testing.assert_array_equal(cut.labels, [0, 1, 0])
    assert split.truncate(config_width({"max_length": None}, 5)) is split
    assert config_width({"max_length": 64}, 5) == 5  # longer than the data: all of it
    assert clip_buckets((2, 4, 5), 3) == (2, 3)  # the 4 and 5 buckets collapse to 3


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


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            {
                "data": {"max_length": 12},
                "method": "random",
                "parameters": {"maxlen": {"values": [8, 20], "probabilities": [0.3, 0.7]}},
            },
            "parameters.maxlen: found 20, above data.max_length 12",
        ),
        (
            {
                "data": {"max_length": 12},
                "method": "random",
                "parameters": {
                    "max_length": {"distribution": "q_uniform", "min": 4, "max": 15, "q": 4}
                },
            },
            "parameters.max_length.max: found 15, which rounds to 16 at q 4, above "
            "data.max_length 12",
        ),
        (
            {
                "data": {"max_length": 12},
                "configs": {"short": {"max_length": 4}, "long": {"max_length": 30}},
            },
            "configs.long.max_length: found 30, above data.max_length 12",
        ),
        (
            {"data": {"max_length": 12}, "parameters": {"max_len": {"value": 13}}},
            "parameters.max_len.value: found 13, above data.max_length 12",
        ),
    ],
)
def test_every_way_to_ask_for_a_max_length_is_checked(document, message):
    with pytest.raises(SpecError) as error:
        parse_spec(document, "s.yaml")
    assert str(error.value) == (
        f"s.yaml: {message} (the width the data is encoded at); allowed: 1 to 12 or null; "
        "raise data.max_length to read longer examples"
    )


def test_an_unbounded_max_length_distribution_is_one_line():
    document = {
        "data": {"max_length": 12},
        "method": "random",
        "parameters": {"max_length": {"distribution": "q_normal", "mu": 8, "sigma": 2, "q": 1}},
    }
    with pytest.raises(SpecError) as error:
        parse_spec(document, "s.yaml")
    assert str(error.value) == (
        "s.yaml: parameters.max_length.distribution: found q_normal, which has no upper bound; "
        "max_length takes 1 to data.max_length 12: use values, int_uniform, q_uniform or "
        "q_log_uniform"
    )


def test_a_random_max_length_draws_integers_within_the_data_width():
    spec = parse_spec(
        {
            "data": {"max_length": 12},
            "method": "random",
            "run_cap": 30,
            "parameters": {"max_length": {"min": 2, "max": 12}},
        },
        "s.yaml",
    )
    drawn = {t.config["max_length"] for t in sample(spec)[0]}
    assert drawn <= set(range(2, 13)) and len(drawn) > 3


@pytest.mark.parametrize(
    ("parameters", "width"),
    [
        ({"max_length": {"values": [32, 64, 128]}}, 128),
        ({"max_length": {"values": [32, None]}}, DEFAULT_MAX_LENGTH),  # null: the whole default
        ({"max_length": 300}, 300),
        ({"max_length": {"distribution": "q_uniform", "min": 8, "max": 40}}, 40),  # q 1.0
        ({"learning_rate": {"values": [0.1, 0.01]}}, DEFAULT_MAX_LENGTH),
    ],
)
def test_files_are_encoded_at_the_largest_max_length_without_data_max_length(parameters, width):
    spec = parse_spec(
        {"method": "random", "data": {"name": "sst2"}, "parameters": parameters}, "s.yaml"
    )
    assert spec.data.max_length == width and isinstance(spec.data.max_length, int)
    given = parse_spec(
        {"method": "random", "data": {"name": "sst2", "max_length": 400}, "parameters": parameters},
        "s.yaml",
    )
    assert given.data.max_length == 400


def test_the_synthetic_width_is_never_changed_by_max_length():
    spec = parse_spec({"parameters": {"max_length": {"values": [4, 8]}}}, "s.yaml")
    assert spec.data.synthetic.max_length == 32
    with pytest.raises(SpecError, match="found 64, above data.max_length 32"):
        parse_spec({"parameters": {"max_length": {"values": [4, 64]}}}, "s.yaml")


def test_memory_is_estimated_at_the_configs_max_length():
    config = complete_config({**BASE, "max_length": 8})
    shapes = {"vocab_size": 50, "num_classes": 3}
    short = estimate_memory(config, seq_len=64, **shapes)
    assert short == estimate_memory({**config, "max_length": None}, seq_len=8, **shapes)
    assert (
        short.activations
        < estimate_memory({**config, "max_length": None}, seq_len=64, **shapes).activations
    )
    [plan] = plan_populations([Trial(0, config)], 8, shapes=Shapes(seq_len=64, **shapes))
    assert plan.estimate == short
