"""Optuna's successive halving and hyperband as jaxtune schedulers: rung arithmetic by
hand, every decision replayed against Optuna's own pruners, and the spec section."""

from __future__ import annotations

import math

import numpy as np
import optuna
import pytest
import yaml

from jaxtune.schedulers.base import Standing
from jaxtune.schedulers.halving import Hyperband, SuccessiveHalving, halving_pruner
from jaxtune.spec import SpecError, parse_spec

optuna.logging.set_verbosity(optuna.logging.WARNING)


def test_rungs_are_promoted_at_min_resource_times_powers_of_the_reduction_factor():
    rule = SuccessiveHalving(min_resource=2, reduction_factor=3)
    assert [rule.promotion_step(r) for r in range(3)] == [2, 6, 18]
    assert [rule.rung_at(s) for s in (1, 2, 3, 6, 18)] == [None, 0, None, 1, 2]
    later = SuccessiveHalving(min_resource=1, reduction_factor=3, min_early_stopping_rate=1)
    assert [later.promotion_step(r) for r in range(2)] == [3, 9]


def test_a_config_is_promoted_within_the_best_len_over_reduction_factor():
    rule = SuccessiveHalving(reduction_factor=4)
    # 4 values: 4 // 4 - 1 = 0, only the best passes; 8 values: the best two pass
    assert rule.judge(1, 0.7, [0.5, 0.9, 0.6, 0.7], maximize=True).threshold == 0.9
    assert rule.judge(1, 0.9, [0.5, 0.9, 0.6, 0.7], maximize=True) is None
    eight = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
    assert rule.judge(1, 0.7, eight, maximize=True) is None
    assert rule.judge(1, 0.3, eight, maximize=False).threshold == 0.2
    # Fewer than reduction_factor values: promoted only if the best so far
    assert rule.judge(1, 0.5, [0.5], maximize=True) is None
    verdict = rule.judge(1, 0.5, [0.6, 0.5], maximize=True)
    assert (verdict.rung, verdict.competing, verdict.threshold) == (0, 2, 0.6)
    assert rule.judge(1, math.nan, [math.nan], maximize=True) is not None
    boot = SuccessiveHalving(bootstrap_count=2).judge(1, 0.9, [0.1, 0.9], maximize=True)
    assert boot is not None and math.isnan(boot.threshold)


def test_hyperband_brackets_and_budgets_as_optuna_counts_them():
    rule = Hyperband(min_resource=1, max_resource=27, reduction_factor=3, study_name="s")
    # floor(log3(27)) + 1 = 4 brackets; budget of s = 3..0: ceil(4 * 3**s / (s + 1))
    assert rule.brackets == 4
    assert rule.budgets() == [27, 12, 6, 4]
    assert [rule.halving(b).min_early_stopping_rate for b in range(4)] == [0, 1, 2, 3]
    picked = {rule.bracket(t) for t in range(200)}
    assert picked == {0, 1, 2, 3}


def _curves(seed: int, count: int, most: int) -> list[list[float]]:
    """Noisy rising curves of 1..most evaluations."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, most + 1, count)
    return [
        list(np.cumsum(rng.uniform(0.0, 0.2, n)) + rng.uniform(0.0, 0.5)) for n in lengths.tolist()
    ]


def _ours(rule, curves, earlier_count, width, maximize):
    """The engine's loop over the curves: the first `earlier_count` configs are an
    earlier population's records (already judged the same way), the rest one population
    of `width` configs at a time; returns config -> evaluation at which it was pruned."""
    records, pruned = [], {}
    groups = [range(earlier_count), range(earlier_count, len(curves))]
    for group in groups:
        for start in range(group.start, group.stop, width):
            ids = list(range(start, min(start + width, group.stop)))
            prune = halving_pruner(rule, "m", maximize, lambda earlier=records: earlier)
            histories = [[] for _ in ids]
            active = np.ones(len(ids), bool)
            while active.any():
                reported = [k for k in range(len(ids)) if active[k]]
                for k in reported:
                    histories[k].append({"m": curves[ids[k]][len(histories[k])]})
                    active[k] = len(histories[k]) < len(curves[ids[k]])
                verdicts = prune(Standing(ids, histories, active.copy(), reported))
                for k in verdicts:
                    if active[k]:
                        active[k] = False
                        pruned[ids[k]] = len(histories[k])
            records += [{"trial_id": t, "history": h} for t, h in zip(ids, histories, strict=True)]
    return pruned


def _optuna(pruner, curves, earlier_count, width, maximize, name="sweep"):
    """The same reports, one trial at a time in the same order, to Optuna's pruner."""
    direction = "maximize" if maximize else "minimize"
    study = optuna.create_study(direction=direction, pruner=pruner, study_name=name)
    trials = [study.ask() for _ in curves]  # trial numbers are the trial ids
    pruned = {}
    for group in (range(earlier_count), range(earlier_count, len(curves))):
        for start in range(group.start, group.stop, width):
            running = list(range(start, min(start + width, group.stop)))
            step = 0
            while running:
                step += 1
                for t in list(running):
                    trials[t].report(curves[t][step - 1], step)
                    # A trial asks after every report, its last included (its value joins
                    # the rung there); one that has finished completes whatever the answer.
                    prune = trials[t].should_prune()
                    if step == len(curves[t]):
                        study.tell(trials[t], curves[t][-1])
                        running.remove(t)
                    elif prune:
                        study.tell(trials[t], state=optuna.trial.TrialState.PRUNED)
                        pruned[t] = step
                        running.remove(t)
    return pruned


@pytest.mark.parametrize(
    "ours, theirs, maximize",
    [
        (SuccessiveHalving(1, 3), optuna.pruners.SuccessiveHalvingPruner(1, 3), True),
        (
            SuccessiveHalving(1, 2, 1, 2),
            optuna.pruners.SuccessiveHalvingPruner(1, 2, 1, 2),
            False,
        ),
        (
            Hyperband(1, 9, 3, study_name="sweep"),
            optuna.pruners.HyperbandPruner(1, 9, 3),
            True,
        ),
    ],
    ids=["asha-max", "asha-min-rate1-bootstrap2", "hyperband"],
)
def test_every_decision_is_the_one_optunas_pruner_makes_on_the_same_reports(ours, theirs, maximize):
    curves = _curves(seed=3, count=60, most=9)
    if not maximize:
        curves = [[-v for v in c] for c in curves]
    expected = _optuna(theirs, curves, earlier_count=14, width=12, maximize=maximize)
    got = _ours(ours, curves, earlier_count=14, width=12, maximize=maximize)
    assert expected and len(expected) < len(curves)  # the replay prunes some, not all
    assert got == expected


SPEC = """\
name: halved
method: random
run_cap: 4
metric: {name: val_accuracy, goal: maximize}
train: {epochs: 30}
parameters:
  learning_rate: {min: 0.0001, max: 0.01, distribution: log_uniform_values}
"""


def _spec(scheduler):
    return parse_spec(yaml.safe_load(SPEC) | {"scheduler": scheduler}, "s.yaml")


def test_the_scheduler_section_takes_optunas_defaults():
    asha = _spec({"type": "asha"}).scheduler
    # min_resource auto: a hundredth of the longest trial, at least 1
    assert asha == SuccessiveHalving(min_resource=1, reduction_factor=4)
    band = _spec({"type": "hyperband"}).scheduler
    # max_resource auto: the most evaluations a config runs (train.epochs 30)
    assert band == Hyperband(1, 30, 3, 0, study_name="halved")
    assert _spec({"type": "asha", "reduction_factor": 3, "bootstrap_count": 1}).scheduler == (
        SuccessiveHalving(1, 3, 0, 1)
    )
    assert parse_spec(yaml.safe_load(SPEC), "s.yaml").scheduler is None


@pytest.mark.parametrize(
    "scheduler, message",
    [
        (
            {"type": "median"},
            "s.yaml: scheduler.type: expected one of asha, hyperband, pbt, found 'median'",
        ),
        (
            {"type": "asha", "max_resource": 9},
            "s.yaml: scheduler.max_resource: unknown key; allowed: type, min_resource, "
            "reduction_factor, min_early_stopping_rate, bootstrap_count",
        ),
        (
            {"type": "asha", "reduction_factor": 1},
            "s.yaml: scheduler.reduction_factor: expected an integer in [2, 1048576], found 1",
        ),
        (
            {"type": "hyperband", "min_resource": 40},
            "s.yaml: scheduler.max_resource: expected at least min_resource (40), found 30",
        ),
        ("asha", "s.yaml: scheduler: expected a mapping with type, found 'asha'"),
    ],
)
def test_bad_scheduler_sections_are_one_line(scheduler, message):
    with pytest.raises(SpecError) as error:
        _spec(scheduler)
    assert str(error.value) == message


def test_auto_resources_need_evaluations_per_epoch_and_one_rule_per_sweep():
    document = yaml.safe_load(SPEC) | {"scheduler": {"type": "hyperband"}}
    document["train"] = {"epochs": 30, "eval_every": 50}
    with pytest.raises(SpecError, match="scheduler.max_resource: auto is the most evaluations"):
        parse_spec(document, "s.yaml")
    document["scheduler"]["max_resource"] = 20
    assert parse_spec(document, "s.yaml").scheduler.max_resource == 20
    document["early_terminate"] = {"type": "hyperband", "min_iter": 1}
    with pytest.raises(
        SpecError, match="s.yaml: scheduler: a sweep takes early_terminate or a scheduler, not both"
    ):
        parse_spec(document, "s.yaml")
