"""search/base.py: the round loop, and the spec that --n-more extends."""

import dataclasses

import pytest

from jaxtune.search.base import Round, check_extensible, extended, run_rounds
from jaxtune.spec import Budget, SpecError, parse_spec


class ScriptedSearch:
    """Proposes the given rounds in order, then None; logs every call."""

    merged = 0

    def __init__(self, rounds, log):
        self.rounds = list(rounds)
        self.log = log

    def propose(self):
        self.log.append("propose")
        return self.rounds.pop(0) if self.rounds else None

    def observe(self, records):
        self.log.append("observe")

    def conclude(self):
        self.log.append("conclude")


def test_each_round_is_trained_then_concluded_until_none_is_left():
    log = []
    rounds = [Round([[]], notice="first"), Round([[], []])]
    search = ScriptedSearch(rounds, log)
    run_rounds(search, lambda round_: log.append(f"train {len(round_.batches)}"), lambda: False)
    assert log == [
        "propose",
        "train 1",
        "conclude",
        "propose",
        "train 2",
        "conclude",
        "propose",
    ]


def test_the_time_limit_is_checked_before_each_proposal():
    log = []
    checks = iter([False, True])  # time runs out while the first round trains
    search = ScriptedSearch([Round([[]]), Round([[]])], log)
    run_rounds(search, lambda round_: log.append("train"), lambda: next(checks))
    assert log == ["propose", "train", "conclude"]  # the second round is never proposed


def test_out_of_time_from_the_start_proposes_nothing():
    log = []
    run_rounds(ScriptedSearch([Round([[]])], log), lambda round_: log.append("train"), lambda: True)
    assert log == []


def spec_of(method, **top):
    parameters = {"learning_rate": {"values": [0.001, 0.01, 0.1]}}
    if method == "bayes":
        parameters = {"learning_rate": {"min": 0.001, "max": 0.1}}
    return parse_spec({"method": method, "parameters": parameters, **top}, f"{method}.yaml")


@pytest.mark.parametrize("method", ["random", "bayes"])
def test_random_and_bayes_can_be_extended(method):
    check_extensible(spec_of(method, run_cap=4))


@pytest.mark.parametrize("method", ["one_at_a_time", "greedy"])
def test_methods_with_spec_fixed_configs_cannot_be_extended(method):
    with pytest.raises(SpecError) as caught:
        check_extensible(spec_of(method))
    assert str(caught.value) == (
        f"{method}.yaml: method: --n-more extends method random or bayes; "
        f"found {method}, whose configs are fixed by the spec"
    )


def test_extending_by_nothing_is_the_same_spec_for_any_method():
    spec = spec_of("grid")
    assert extended(spec, 0) is spec


def test_extending_raises_run_cap_and_keeps_no_cap_uncapped():
    spec = spec_of("random", run_cap=4)
    more = extended(spec, 3)
    assert more.run_cap == 7
    assert more.budget.max_configs is None
    assert dataclasses.replace(more, run_cap=4) == spec  # nothing else changes


def test_extending_raises_a_max_configs_cap_with_run_cap():
    spec = spec_of("random", run_cap=4, budget={"max_configs": 5})
    more = extended(spec, 2)
    assert (more.run_cap, more.budget.max_configs) == (6, 7)


def test_without_run_cap_the_count_is_the_max_configs_cap():
    spec = dataclasses.replace(
        spec_of("random", run_cap=4), run_cap=None, budget=Budget(max_configs=5)
    )
    more = extended(spec, 2)
    assert (more.run_cap, more.budget.max_configs) == (7, 7)


def test_a_grid_cannot_be_extended_by_more_configs():
    with pytest.raises(SpecError, match="found grid"):
        extended(spec_of("grid"), 1)
