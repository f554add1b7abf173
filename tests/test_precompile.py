"""precompile.py: a population's programs are compiled before its first round, several at
a time, and the round's calls then compile nothing again."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from support import configs, tiny_dataset

from jaxtune import precompile as precompile_module
from jaxtune.engine import Engine
from jaxtune.plan import PopulationPlan
from jaxtune.population.program import variant_of
from jaxtune.population.status import EarlyStopping
from jaxtune.search.samplers import Trial

COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"
BASE = {"architecture": "gru", "embedding_dim": 8, "epochs": 2}
# A merged program of two variants (batch sizes 8 and 16).
MEMBERS = [{"batch_size": b, "hidden_size": 4, "learning_rate": 1e-2} for b in (8, 16)]
BUCKETS = (5, 10)  # two length buckets: two training programs


def plan() -> PopulationPlan:
    population = configs(BASE, MEMBERS)
    variants = tuple(sorted({variant_of(c, by_kind=True) for c in population}, key=str))
    trials = tuple(Trial(k, c) for k, c in enumerate(population))
    return PopulationPlan(0, trials, chunk=1, variants=variants)


@pytest.fixture
def compiled_names():
    """The function name of each XLA backend compilation while the test runs."""
    names = []

    def listen(event, duration, **kwargs):
        if event == COMPILE_EVENT:
            names.append(kwargs.get("fun_name"))

    jax.monitoring.register_event_duration_secs_listener(listen)
    yield names
    jax.monitoring.unregister_event_duration_listener(listen)


def test_every_program_of_the_first_round_compiles_ahead_and_once(compiled_names, monkeypatch):
    engine = Engine(
        tiny_dataset(), seed=0, early_stopping=EarlyStopping(), chunk=1, buckets=BUCKETS
    )
    jobs = []
    at_return = []
    compile_all = precompile_module.precompile

    def counted(batch, workers=None):
        jobs.extend(batch)
        done = compile_all(batch, workers=2)  # two threads even on a one-core machine
        at_return.append(len(compiled_names))
        return done

    monkeypatch.setattr("jaxtune.engine.precompile", counted)
    records = engine.run(plan())
    assert len(records) == len(MEMBERS) and all(len(r["history"]) == 2 for r in records)
    functions = [function for function, _ in jobs]
    population = engine.population(plan().trials[0].config, plan().variants)
    # One training program per length bucket, one evaluation per validation bucket.
    assert functions.count(population.train_round) == len(BUCKETS)
    val_blocks = engine.view(plan().trials[0].config).val_plan.blocks
    assert functions.count(population.evaluate_totals) == len(val_blocks) >= 2
    [ahead] = at_return  # compiled once, before the first round
    # Both are jit(run) (sharding.over_devices): each compiled once, the calls found them.
    assert compiled_names.count("jit(run)") == len(jobs)
    assert "jit(run)" not in compiled_names[ahead:]


def test_precompile_compiles_each_job_without_running_it(compiled_names):
    ran = []

    @jax.jit
    def double(x):
        jax.debug.callback(lambda: ran.append(1))
        return x * 2

    jobs = [(double, (np.ones(n, np.float32),)) for n in (2, 3, 4)]
    assert precompile_module.precompile(jobs, workers=2) == 3
    assert precompile_module.precompile([], workers=2) == 0
    assert compiled_names.count("jit(double)") == 3 and not ran
    for _, (x,) in jobs:
        np.testing.assert_array_equal(double(x), x * 2)
    assert compiled_names.count("jit(double)") == 3  # the calls found the compiled programs
    assert len(ran) == 3
