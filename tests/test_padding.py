"""Population widths padded with inactive slots: same results, fewer compiled programs."""

from __future__ import annotations

import numpy as np
from support import configs, tiny_dataset

from jaxtune.engine import Engine
from jaxtune.plan import PopulationPlan
from jaxtune.population.status import EarlyStopping
from jaxtune.search.samplers import Trial

BASE = {"architecture": "gru", "hidden_size": 8, "embedding_dim": 8, "batch_size": 16, "epochs": 2}
RATES = [3e-3, 1e-2, 3e-2, 1e-3]


def plan(trial_ids, slots=None):
    population = configs(BASE, [{"learning_rate": RATES[i]} for i in trial_ids])
    trials = tuple(Trial(i, c) for i, c in zip(trial_ids, population, strict=True))
    return PopulationPlan(0, trials, chunk=1, padded_width=slots)


def test_padded_population_equals_unpadded_and_two_sizes_compile_once(compile_counter):
    engine = Engine(tiny_dataset(), seed=0, early_stopping=EarlyStopping(), chunk=1)
    unpadded = engine.run(plan([0, 1, 2]))  # 3 slots: one device; 4 slots: split over 4
    before = len(compile_counter)
    padded = engine.run(plan([0, 1, 2], slots=4))
    after_first = len(compile_counter)
    four = engine.run(plan([0, 1, 2, 3], slots=4))  # same slots: nothing new to compile
    assert after_first > before and len(compile_counter) == after_first
    assert len(padded) == 3 and len(four) == 4  # no record for a padding slot
    for a, b in zip(padded, unpadded, strict=True):
        assert a["status"] == b["status"] and a["best_epoch"] == b["best_epoch"]
        for x, y in zip(a["history"], b["history"], strict=True):
            for name in ("train_loss", "val_loss", "val_accuracy"):
                np.testing.assert_allclose(x[name], y[name], rtol=1e-5)
