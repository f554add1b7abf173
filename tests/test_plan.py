"""The planner: static groups, memory-limited widths, balanced populations."""

from __future__ import annotations

import pytest

from jaxtune.memory import MemoryEstimate, estimate_memory
from jaxtune.plan import (
    RUNTIME_RESERVE_BYTES,
    Shapes,
    balanced_chunks,
    padded_width,
    plan_populations,
    width_limit,
)
from jaxtune.search.samplers import Trial
from jaxtune.space import complete_config

SHAPES = Shapes(vocab_size=500, num_classes=3, seq_len=16)


def _trials(configs):
    return [Trial(i, complete_config(c)) for i, c in enumerate(configs)]


@pytest.mark.parametrize(
    "count,limit,expected",
    [(70, 64, [35, 35]), (71, 64, [36, 35]), (64, 64, [64]), (5, 2, [2, 2, 1]), (1, 8, [1])],
)
def test_balanced_chunks(count, limit, expected):
    assert balanced_chunks(count, limit) == expected


MIB = 2**20
ESTIMATE = MemoryEstimate(
    params=2 * MIB,
    optimizer_state=4 * MIB,
    best_params=2 * MIB,
    step_transient=1 * MIB,
    activations=1 * MIB,
)  # persistent 8 MiB, per step 2 MiB


def test_width_limit_from_memory():
    budget = RUNTIME_RESERVE_BYTES + 250 * MIB + 1
    assert width_limit(ESTIMATE, 64, budget) == 25  # 10 MiB per config, all computed at once
    assert width_limit(ESTIMATE, 8, budget) == 8  # the user's cap wins when smaller
    assert width_limit(ESTIMATE, 64, 0) == 1  # never zero: one config always runs
    # One config at a time: only one holds step activations, (250 - 2) // 8 fit.
    assert width_limit(ESTIMATE, 64, budget, chunk=1) == 31
    assert ESTIMATE.population_bytes(31, 1) <= 250 * MIB < ESTIMATE.population_bytes(32, 1)


def test_groups_split_only_on_shape_changing_hparams():
    configs = [
        {"architecture": "gru", "hidden_size": h, "learning_rate": lr, "dropout": d}
        for h in (16, 32)
        for lr in (1e-3, 1e-2)
        for d in (0.0, 0.5)
    ]
    plans = plan_populations(_trials(configs), 64)
    assert [p.group for p in plans] == [0, 1]
    for plan in plans:
        assert len({t.config["hidden_size"] for t in plan.trials}) == 1
        assert plan.width == 4  # lr and dropout ride along inside one program


def test_memory_budget_narrows_populations():
    configs = [
        {"architecture": "lstm", "hidden_size": 32, "learning_rate": 10.0**-k}
        for k in (1, 2, 3, 4, 5, 6, 7)
    ]
    trials = _trials(configs)
    estimate = estimate_memory(trials[0].config, vocab_size=500, num_classes=3, seq_len=16)
    budget = RUNTIME_RESERVE_BYTES + 3 * estimate.total
    plans = plan_populations(trials, 64, shapes=SHAPES, memory_budget=budget)
    assert [p.width for p in plans] == [3, 2, 2]
    assert all(p.estimate == estimate for p in plans)
    assert max(p.estimated_bytes for p in plans) <= budget - RUNTIME_RESERVE_BYTES
    assert [t.trial_id for p in plans for t in p.trials] == list(range(7))  # each trial once


@pytest.mark.parametrize(
    "width,limit,expected", [(1, 64, 1), (3, 64, 4), (4, 64, 4), (5, 64, 8), (5, 6, 6), (7, 7, 7)]
)
def test_padded_width_is_a_power_of_two_within_the_limit(width, limit, expected):
    assert padded_width(width, limit) == expected


def test_chunked_populations_are_padded_within_the_memory_budget():
    configs = [
        {"architecture": "lstm", "hidden_size": 32, "learning_rate": 0.1 / k} for k in range(1, 6)
    ]
    plans = plan_populations(_trials(configs), 64, chunk=1)
    assert [(p.width, p.slots) for p in plans] == [(5, 8)]
    assert plan_populations(_trials(configs), 64)[0].slots == 5  # one vmap: no padding
    estimate = estimate_memory(
        complete_config(configs[0]), vocab_size=500, num_classes=3, seq_len=16
    )
    budget = RUNTIME_RESERVE_BYTES + estimate.per_step + 6 * estimate.persistent
    plans = plan_populations(_trials(configs), 64, shapes=SHAPES, memory_budget=budget, chunk=1)
    assert [(p.width, p.slots) for p in plans] == [(5, 6)]  # 8 slots would not fit
    assert plans[0].estimated_bytes <= budget - RUNTIME_RESERVE_BYTES
