"""Samplers: grid size, one-at-a-time count and studies, random draws within W&B's semantics."""

from __future__ import annotations

import math
import textwrap

import numpy as np
import pytest
import yaml
from support import WANDB_DOCS_SWEEP

from jaxtune.distributions import Distribution, draw_valid, quantize
from jaxtune.search.samplers import grid, one_at_a_time, random_search, sample
from jaxtune.space import HPARAMS
from jaxtune.spec import SpecError, parse_spec


def _spec(text: str, path: str = "s.yaml"):
    return parse_spec(yaml.safe_load(textwrap.dedent(text)), path)


def _swept(trials, names):
    return [tuple(t.config[n] for n in names) for t in trials]


def test_grid_has_every_combination_in_spec_order():
    spec = _spec("""
        model: {embedding_dim: 16}
        parameters:
          learning_rate: {values: [0.1, 0.01, 0.001]}
          dropout: {values: [0.0, 0.5]}
    """)
    trials, merged = grid(spec)
    assert merged == 0
    assert [t.trial_id for t in trials] == list(range(6))
    assert _swept(trials, ["learning_rate", "dropout"]) == [
        (lr, d) for lr in (0.1, 0.01, 0.001) for d in (0.0, 0.5)
    ]
    assert all(t.config["embedding_dim"] == 16 and t.studies == () for t in trials)
    assert sample(spec) == (trials, merged)


def test_grid_merges_values_the_architecture_ignores_and_run_cap_keeps_the_first():
    spec = _spec("""
        parameters:
          architecture: {values: [gru, cnn]}
          hidden_size: {values: [32, 64]}
    """)
    trials, merged = grid(spec)
    assert (len(trials), merged) == (3, 1)  # a CNN has no hidden_size: its two points are one
    capped = _spec("""
        run_cap: 2
        parameters:
          architecture: {values: [gru, cnn]}
          hidden_size: {values: [32, 64]}
    """)
    assert grid(capped)[0] == trials[:2]  # W&B's run_cap: no more runs than this


def test_grid_above_max_configs_is_one_line():
    spec = _spec("""
        budget: {max_configs: 3}
        parameters:
          learning_rate: {values: [0.1, 0.01]}
          dropout: {values: [0.0, 0.5]}
    """)
    with pytest.raises(SpecError) as error:
        sample(spec)
    assert str(error.value) == (
        "s.yaml: budget.max_configs: the grid has 4 configs, above the cap of 3; "
        "raise the cap or sweep fewer values"
    )


def test_grid_expands_int_uniform_and_q_uniform_as_wandb_does():
    # W&B's grid search: int_uniform -> every integer in [min, max];
    # q_uniform -> numpy.arange(min, max, q), which leaves max out.
    spec = _spec("""
        parameters:
          num_layers: {distribution: int_uniform, min: 1, max: 3}
          dropout: {distribution: q_uniform, min: 0.1, max: 0.5, q: 0.1}
    """)
    assert spec.parameters == {"num_layers": [1, 2, 3], "dropout": [0.1, 0.2, 0.3, 0.4]}
    assert len(grid(spec)[0]) == 12


ONE_AT_A_TIME = """
    method: one_at_a_time
    parameters:
      learning_rate: {values: [1e-4, 1e-3, 1e-2], baseline: 1e-3}
      hidden_size: {values: [64, 128]}
      dropout: {values: [0.2, 0.5, 0.2]}
"""


def test_one_at_a_time_is_the_baseline_plus_each_value_alone():
    spec = _spec(ONE_AT_A_TIME)
    assert spec.baselines == {"learning_rate": 1e-3, "hidden_size": 64, "dropout": 0.2}
    trials, merged = one_at_a_time(spec)
    # 1 + sum(len(values) - 1): the baseline is trained once, not once per hyperparameter.
    assert len(trials) == 1 + (3 - 1) + (2 - 1) + (2 - 1) == 5
    assert merged == 0
    names = ["learning_rate", "hidden_size", "dropout"]
    assert [(t.trial_id, *_swept([t], names)[0], t.studies) for t in trials] == [
        (0, 1e-3, 64, 0.2, ("learning_rate", "hidden_size", "dropout")),
        (1, 1e-4, 64, 0.2, ("learning_rate",)),
        (2, 1e-2, 64, 0.2, ("learning_rate",)),
        (3, 1e-3, 128, 0.2, ("hidden_size",)),
        (4, 1e-3, 64, 0.5, ("dropout",)),
    ]
    assert sample(spec) == (trials, merged)


def test_one_at_a_time_merges_configs_that_collapse_into_the_baseline():
    spec = _spec("""
        method: one_at_a_time
        parameters:
          architecture: {values: [gru, cnn], baseline: cnn}
          hidden_size: {values: [64, 128]}
    """)
    trials, merged = one_at_a_time(spec)
    # Under the CNN baseline hidden_size 128 is the baseline again: 3 expected, 2 distinct.
    assert [(t.config["architecture"], t.studies) for t in trials] == [
        ("cnn", ("architecture", "hidden_size")),
        ("gru", ("architecture",)),
    ]
    assert merged == 1


def test_one_at_a_time_count_over_many_value_lists():
    for sizes in [(1,), (2, 3), (5, 4, 5, 5, 3)]:
        names = ["learning_rate", "dropout", "weight_decay", "label_smoothing", "momentum"]
        parameters = {
            name: {"values": [round(0.01 * (i + 1) * (j + 1), 4) for j in range(size)]}
            for i, (name, size) in enumerate(zip(names, sizes, strict=False))
        }
        spec = parse_spec({"method": "one_at_a_time", "parameters": parameters}, "s.yaml")
        trials, merged = one_at_a_time(spec)
        assert len(trials) == 1 + sum(size - 1 for size in sizes) and merged == 0
        assert len({tuple(t.config.items()) for t in trials}) == len(trials)
        for name in spec.parameters:  # each study: the baseline plus every other value once
            study = [t.config[name] for t in trials if name in t.studies]
            assert sorted(study) == sorted(spec.parameters[name])


def _random(entries: dict, run_cap: int = 400, seed: int = 0, **extra):
    document = {"method": "random", "run_cap": run_cap, "seed": seed, "parameters": entries}
    return parse_spec({**document, **extra}, "r.yaml")


# (hyperparameter, W&B entry, every value drawn lies in [low, high], type of the values)
WITHIN_BOUNDS = [
    ("num_layers", {"distribution": "int_uniform", "min": 2, "max": 5}, 2, 5, int),
    ("hidden_size", {"min": 8, "max": 12}, 8, 12, int),  # two ints: int_uniform, as in W&B
    ("dropout", {"min": 0.1, "max": 0.5}, 0.1, 0.5, float),  # floats: uniform
    ("learning_rate", {"distribution": "uniform", "min": 0, "max": 0.1}, 0.0, 0.1, float),
    ("hidden_size", {"distribution": "q_uniform", "min": 32, "max": 256, "q": 32}, 32, 256, int),
    ("dropout", {"distribution": "q_uniform", "min": 0, "max": 0.5, "q": 0.05}, 0, 0.5, float),
    (
        "learning_rate",
        {"distribution": "log_uniform_values", "min": "1e-5", "max": "1e-1"},
        1e-5,
        1e-1,
        float,
    ),
    (
        "learning_rate",
        {"distribution": "log_uniform", "min": math.log(1e-5), "max": math.log(1e-1)},
        1e-5,
        1e-1,
        float,
    ),
    (
        "learning_rate",
        {"distribution": "inv_log_uniform_values", "min": 1e-5, "max": 1e-1},
        1e-5,
        1e-1,
        float,
    ),
    (
        "learning_rate",
        {"distribution": "inv_log_uniform", "min": math.log(10), "max": math.log(1e5)},
        1e-5,
        1e-1,
        float,
    ),
    (
        "batch_size",
        {"distribution": "q_log_uniform_values", "min": 32, "max": 256, "q": 8},
        32,
        256,
        int,
    ),
    (
        "hidden_size",
        {"distribution": "q_log_uniform", "min": math.log(16), "max": math.log(512), "q": 16},
        16,
        512,
        int,
    ),
    ("dropout", {"distribution": "normal", "mu": 0.3, "sigma": 0.1}, 0.0, 1.0, float),
    ("dropout", {"distribution": "normal", "mu": 0.0, "sigma": 0.2}, 0.0, 1.0, float),  # cut at 0
    (
        "label_smoothing",
        {"distribution": "q_normal", "mu": 0.1, "sigma": 0.05, "q": 0.05},
        0.0,
        1.0,
        float,
    ),
    ("weight_decay", {"distribution": "log_normal", "mu": math.log(1e-4)}, 0.0, 1e3, float),
    (
        "batch_size",
        {"distribution": "q_log_normal", "mu": math.log(64), "sigma": 0.5, "q": 8},
        1,
        65536,
        int,
    ),
]


@pytest.mark.parametrize(
    "name,entry,low,high,kind",
    WITHIN_BOUNDS,
    ids=[f"{entry.get('distribution', 'inferred')}-{name}" for name, entry, *_ in WITHIN_BOUNDS],
)
def test_random_draws_stay_within_bounds_and_pass_the_hparam_check(name, entry, low, high, kind):
    spec = _random({name: entry})
    trials, merged = random_search(spec)
    assert len(trials) + merged == 400
    values = [t.config[name] for t in trials]
    assert all(type(v) is kind for v in values)
    assert all(low <= v <= high for v in values)
    assert all(HPARAMS[name].parse(v) == v for v in values)
    q = entry.get("q")
    if q is not None:  # round(X / q) * q exactly: multiples of q as written
        assert all(v == quantize(v, q) and abs(v / q - round(v / q)) < 1e-9 for v in values)


def test_int_uniform_includes_both_bounds():
    trials, merged = random_search(_random({"num_layers": {"min": 1, "max": 4}}, run_cap=200))
    assert sorted(t.config["num_layers"] for t in trials) == [1, 2, 3, 4]
    assert merged == 196  # duplicates merged and counted


def test_normal_draws_outside_the_hparam_range_are_redrawn():
    dist = _random({"dropout": {"distribution": "normal", "mu": 0.0, "sigma": 0.2}}).distributions
    rng = np.random.default_rng(0)
    draws = [draw_valid(dist["dropout"], HPARAMS["dropout"].parse, rng) for _ in range(2000)]
    assert min(draws) >= 0.0 and max(draws) < 1.0  # half of N(0, 0.2) is negative: cut away
    assert 0.13 < np.mean(draws) < 0.19  # half-normal mean 0.2 * sqrt(2 / pi) = 0.16


def test_log_uniform_values_spread_evenly_over_decades():
    spec = _random(
        {"learning_rate": {"distribution": "log_uniform_values", "min": 1e-6, "max": 1e-2}},
        run_cap=4000,
        seed=7,
    )
    trials, merged = random_search(spec)
    assert merged == 0
    exponents = np.log10([t.config["learning_rate"] for t in trials])
    counts, _ = np.histogram(exponents, bins=4, range=(-6, -2))
    # 1000 per decade expected, binomial sd ~27: 12 sd of room, and the seed is fixed.
    assert counts.min() > 680 and counts.max() < 1320, counts
    assert abs(np.median(exponents) + 4) < 0.15
    # A uniform draw over the same range would put ~99% of values in the top decade.
    assert counts[-1] < 0.3 * len(exponents)


def test_q_rounding_is_wandb_round_half_even_with_q_decimals():
    assert quantize(0.30000000000000004, 0.1) == 0.3
    assert quantize(0.27, 0.05) == 0.25 and quantize(0.28, 0.05) == 0.3
    assert quantize(37.0, 8) == 40 and type(quantize(37.0, 8)) is int  # int q gives ints
    assert quantize(36.0, 8) == 32  # 4.5 rounds to even, like numpy.round in W&B
    assert quantize(37.0, 8.0) == 40.0 and type(quantize(37.0, 8.0)) is float
    assert quantize(3.3e-4, 1e-4) == 3e-4


def test_probabilities_and_repeated_values_weight_the_draws():
    spec = _random(
        {
            "optimizer": {"values": ["adam", "sgd"], "probabilities": [0.8, 0.2]},
            "architecture": {"values": ["gru", "gru", "lstm"]},  # W&B: gru twice as likely
        }
    )
    assert spec.distributions["optimizer"] == Distribution(
        "categorical", values=("adam", "sgd"), probabilities=(0.8, 0.2)
    )
    assert spec.distributions["architecture"].probabilities == pytest.approx((2 / 3, 1 / 3))
    rng = np.random.default_rng(1)
    draws = [draw_valid(spec.distributions["optimizer"], str, rng) for _ in range(4000)]
    assert 0.77 < draws.count("adam") / 4000 < 0.83


def test_random_is_deterministic_for_a_seed_and_extends_as_a_prefix():
    entries = {
        "learning_rate": {"distribution": "log_uniform_values", "min": 1e-5, "max": 1e-1},
        "dropout": {"values": [0.0, 0.1, 0.2, 0.3]},
        "batch_size": {"distribution": "q_log_uniform_values", "min": 16, "max": 128, "q": 16},
    }
    first, again = random_search(_random(entries, 20)), random_search(_random(entries, 20))
    assert first == again
    other = random_search(_random(entries, 20, seed=1))[0]
    assert _swept(other, ["learning_rate"]) != _swept(first[0], ["learning_rate"])
    more = random_search(_random(entries, 40))[0]
    assert more[:20] == first[0]


def test_random_count_comes_from_run_cap_else_max_configs():
    entries = {"learning_rate": {"min": 1e-4, "max": 1e-2}}
    spec = parse_spec(
        {"method": "random", "budget": {"max_configs": 7}, "parameters": entries}, "r.yaml"
    )
    assert len(random_search(spec)[0]) == 7
    spec = parse_spec(
        {"method": "random", "run_cap": 9, "budget": {"max_configs": 8}, "parameters": entries},
        "r.yaml",
    )
    with pytest.raises(SpecError) as error:
        sample(spec)
    assert str(error.value) == (
        "r.yaml: budget.max_configs: run_cap asks for 9 random configs, above the cap of 8; "
        "raise the cap or lower run_cap"
    )


def test_wandb_docs_sweep_yaml_parses_and_samples():
    # docs.wandb.ai, "Define a sweep configuration", the YAML example, verbatim except
    # `method: random` (the page uses bayes: test_search_bayes.py runs that verbatim) and run_cap.
    spec = _spec(WANDB_DOCS_SWEEP.replace("method: bayes", "method: random\nrun_cap: 12"))
    assert spec.notices == ("s.yaml: program: ignored (jaxtune runs the sweep itself)",)
    assert (spec.name, spec.metric, spec.goal, spec.run_cap) == (
        "sweepdemo",
        "val_loss",
        "minimize",
        12,
    )
    assert spec.distributions == {"learning_rate": Distribution("uniform", 0.0001, 0.1)}
    trials, merged = sample(spec)
    assert len(trials) == 12 and merged == 0
    for t in trials:
        assert 0.0001 <= t.config["learning_rate"] <= 0.1
        assert t.config["batch_size"] in (16, 32, 64) and t.config["epochs"] in (5, 10, 15)
        assert t.config["optimizer"] in ("adam", "sgd")


def test_wandb_walkthrough_distributions_parse_and_sample():
    # The search space of W&B's sweeps walkthrough (a uniform learning rate from 0, a
    # q_log_uniform_values batch size) with two names changed to jaxtune's: its metric
    # `loss` is val_loss here, its fc_layer_size is hidden_size.
    spec = _spec("""
        program: train.py
        method: random
        run_cap: 50
        metric: {name: val_loss, goal: minimize}
        parameters:
          optimizer: {values: [adam, sgd]}
          hidden_size: {values: [128, 256, 512]}
          dropout: {values: [0.3, 0.4, 0.5]}
          epochs: {value: 1}
          learning_rate: {distribution: uniform, min: 0, max: 0.1}
          batch_size: {distribution: q_log_uniform_values, q: 8, min: 32, max: 256}
    """)
    trials, _ = sample(spec)
    assert len(trials) == 50
    for t in trials:
        assert 0 < t.config["learning_rate"] < 0.1
        assert t.config["batch_size"] % 8 == 0 and 32 <= t.config["batch_size"] <= 256
        assert t.config["epochs"] == 1
