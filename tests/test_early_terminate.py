"""W&B's early_terminate (hyperband): band arithmetic, thresholds and verdicts computed by
hand, and the spec section. test_pruned_sweeps.py runs a W&B sweep file with it."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from jaxtune.schedulers.base import Standing, Verdict
from jaxtune.schedulers.early_terminate import (
    HyperbandStopping,
    logged_values,
    population_pruner,
)
from jaxtune.spec import SpecError, parse_spec


def test_bands_from_min_iter_multiply_by_eta_as_wandb_does():
    bands = HyperbandStopping.of(min_iter=1, eta=3).bands
    assert bands[:5] == (1, 3, 9, 27, 81) and len(bands) == 100
    # A float eta: 2, 2 * 2.5 = 5, 12.5 -> 12, 31.25 -> 31
    assert HyperbandStopping.of(min_iter=2, eta=2.5).bands[:4] == (2, 5, 12, 31)


def test_bands_from_max_iter_divide_s_times_and_stop_below_one():
    assert HyperbandStopping.of(max_iter=81, s=3, eta=3).bands == (3, 9, 27)
    # 10 / 3 = 3.33 -> 3, 1.11 -> 1, then 0.37 is below 1: two bands although s is 4
    assert HyperbandStopping.of(max_iter=10, s=4, eta=3).bands == (1, 3)
    with pytest.raises(ValueError, match="below 1"):
        HyperbandStopping.of(max_iter=2, s=1, eta=3)


def test_thresholds_and_verdicts_minimize():
    rule = HyperbandStopping.of(max_iter=4, s=2, eta=2)  # bands 1, 2
    assert rule.bands == (1, 2)
    finished = [5.0, 3.0]
    running = {"b": [6.0, 4.0], "c": [4.0, 2.0, 1.0], "d": [7.0]}
    # band 1: sorted [4, 5, 6, 7][int(0.5 * 4)] = 6; band 2: sorted [2, 3, 4][int(1.5)] = 3
    assert rule.thresholds([finished, *running.values()]) == [6.0, 3.0]
    assert rule.verdicts(running, [finished], maximize=False) == {
        "b": Verdict(band=2, value=4.0, threshold=3.0),
        "d": Verdict(band=1, value=7.0, threshold=6.0),
    }


def test_strict_compares_the_value_at_the_band_and_loose_the_best_so_far():
    # eta 3, bands 2, 6, ...: band 2 over [1.0, 3.0] -> sorted[int(2 / 3)] = 1.0
    running, finished = {"j": [0.5, 3.0]}, [[1.0, 1.0]]
    strict = HyperbandStopping.of(min_iter=2, eta=3)
    assert strict.verdicts(running, finished, maximize=False) == {"j": Verdict(2, 3.0, 1.0)}
    loose = HyperbandStopping.of(min_iter=2, eta=3, strict=False)
    assert loose.verdicts(running, finished, maximize=False) == {}  # its best, 0.5, passes


def test_maximize_negates_and_reports_in_the_metrics_sign():
    running, finished = {"j": [0.95, 0.7]}, [[0.9, 0.8]]
    strict = HyperbandStopping.of(min_iter=2, eta=3)
    # negated band 2 values [-0.8, -0.7] -> threshold -0.8; -0.7 is worse
    assert strict.verdicts(running, finished, maximize=True) == {"j": Verdict(2, 0.7, 0.8)}
    loose = HyperbandStopping.of(min_iter=2, eta=3, strict=False)
    assert loose.verdicts(running, finished, maximize=True) == {}  # best 0.95 beats 0.8


def test_no_band_reached_stops_nothing():
    rule = HyperbandStopping.of(min_iter=3, eta=3)
    assert rule.verdicts({"a": [9.0, 9.0]}, [[1.0, 1.0, 1.0]], maximize=False) == {}


def test_logged_values_are_the_finite_values_of_the_metric():
    history = [{"val_loss": 1.0}, {"val_loss": float("nan")}, {}, {"val_loss": 0.5}]
    assert logged_values(history, "val_loss") == [1.0, 0.5]


def test_the_population_pruner_compares_with_earlier_configs_of_the_sweep():
    rule = HyperbandStopping.of(min_iter=1, eta=2)  # bands 1, 2, 4, ...
    earlier = [{"history": [{"val_accuracy": 0.9}, {"val_accuracy": 0.95}]}]
    prune = population_pruner(rule, "val_accuracy", True, lambda: earlier)
    histories = [[{"val_accuracy": 0.5}], [{"val_accuracy": 0.8}], [{"val_accuracy": 0.7}]]
    # band 1 over [0.5, 0.8, 0.7, 0.9] (negated, sorted: -0.9 -0.8 -0.7 -0.5)[2] -> 0.7
    verdicts = prune(Standing([0, 1, 2], histories, np.array([True, True, False]), [0, 1, 2]))
    assert verdicts == {0: Verdict(1, 0.5, 0.7)}  # config 2 ended already: never stopped


SWEEP = """\
program: train.py
name: pruned
method: grid
metric: {name: val_accuracy, goal: maximize}
early_terminate: {type: hyperband, min_iter: 1, eta: 3}
parameters:
  learning_rate: {values: [0.0003, 0.003, 0.03]}
  dropout: {values: [0.0, 0.5]}
  optimizer: {values: [adam, sgd]}
"""


def test_the_early_terminate_section_parses_as_wandb_writes_it():
    spec = parse_spec(yaml.safe_load(SWEEP), "s.yaml")
    assert spec.early_terminate == HyperbandStopping.of(min_iter=1, eta=3)
    both = yaml.safe_load(SWEEP)
    both["early_terminate"] |= {"max_iter": 27, "s": 2}
    spec = parse_spec(both, "s.yaml")
    assert spec.early_terminate.bands == (3, 9)
    assert any("min_iter: ignored" in notice for notice in spec.notices)


@pytest.mark.parametrize(
    "section,message",
    [
        ({"type": "envelope"}, "early_terminate.type: expected one of hyperband, found 'envelope'"),
        ({"type": "hyperband"}, "early_terminate: expected min_iter, or max_iter and s"),
        ({"type": "hyperband", "max_iter": 9}, "early_terminate.s: max_iter needs s"),
        ({"type": "hyperband", "min_iter": 0}, "early_terminate.min_iter: expected an integer"),
        ({"type": "hyperband", "min_iter": 1, "eta": 1}, "early_terminate.eta: expected a number"),
        ({"type": "hyperband", "min_iter": 1, "grace": 2}, "early_terminate.grace: unknown key"),
        ({"type": "hyperband", "max_iter": 2, "s": 1}, "early_terminate: max_iter 2 divided"),
    ],
)
def test_bad_early_terminate_sections_are_one_line(section, message):
    document = yaml.safe_load(SWEEP) | {"early_terminate": section}
    with pytest.raises(SpecError) as error:
        parse_spec(document, "s.yaml")
    assert str(error.value).startswith(f"s.yaml: {message}")
    assert "\n" not in str(error.value)
