"""Slot refill: a population that streams its trials through fewer slots (plan.streamed).
A trial that takes a freed slot starts from its own initial params and trains on the
data epochs from the one it joined at: its curve, status and best params equal the trial
trained alone from that data epoch; refills never compile anything new."""

from __future__ import annotations

import jax
import numpy as np
from support import configs, tiny_dataset

from jaxtune.checkpoints import load_config_params
from jaxtune.engine import Engine
from jaxtune.plan import PopulationPlan, plan_populations, streamed
from jaxtune.population.status import EarlyStopping
from jaxtune.schedulers.base import Standing, Verdict
from jaxtune.search.samplers import Trial

BASE = {"architecture": "gru", "hidden_size": 8, "embedding_dim": 8, "batch_size": 16}
VARIATIONS = [
    {"learning_rate": 3e-3, "epochs": 3},
    {"learning_rate": 1e-2, "epochs": 2},
    {"learning_rate": 3e-2, "epochs": 3, "dropout": 0.3},
    {"learning_rate": 1e-3, "epochs": 2},
    {"learning_rate": 2e-2, "epochs": 3},
    {"learning_rate": 5e-3, "epochs": 2, "dropout": 0.1},
]
PRUNED_AFTER_ONE = {0, 4}  # trial ids a rule prunes at their first evaluation


def prune_first(standing: Standing) -> dict[int, Verdict]:
    """A rule of the trial alone: trials 0 and 4 end after their first evaluation."""
    return {
        k: Verdict(1, 0.0, 1.0)
        for k in standing.reported
        if standing.trial_ids[k] in PRUNED_AFTER_ONE and len(standing.histories[k]) == 1
    }


def trials(variations=VARIATIONS, rate=1.0):
    population = configs(
        BASE, [{**v, "learning_rate": v["learning_rate"] * rate} for v in variations]
    )
    return [Trial(k, c) for k, c in enumerate(population)]


def engine(directory=None) -> Engine:
    return Engine(
        tiny_dataset(), seed=0, early_stopping=EarlyStopping(), chunk=1, params_dir=directory
    )


def test_streamed_joins_one_programs_populations_into_its_widest_slots():
    plans = plan_populations(trials(), 2, chunk=1)
    assert [p.width for p in plans] == [2, 2, 2]
    [stream] = streamed(plans)
    assert stream.slots == 2 and [t.trial_id for t in stream.trials] == [0, 1]
    assert [t.trial_id for t in stream.queued] == [2, 3, 4, 5]
    assert stream.without({0, 2}).all_trials == tuple(trials()[k] for k in (1, 3, 4, 5))


def test_a_refilled_slot_equals_its_trial_trained_alone_from_its_data_epoch(
    tmp_path, compile_counter
):
    every = trials()
    plan = PopulationPlan(0, tuple(every[:2]), chunk=1, queued=tuple(every[2:]))
    trainer = engine(tmp_path / "stream")
    records = {r["trial_id"]: r for r in trainer.run(plan, prune=prune_first)}
    assert sorted(records) == list(range(6))  # every trial ran
    joined = {k: r.get("data_epoch", 0) for k, r in records.items()}
    # Slot 0: trial 0 is pruned after epoch 1, trial 2 takes it for epochs 1-3; slot 1:
    # trial 1 runs epochs 0-1, trial 3 epochs 2-3; both free after epoch 3: trials 4, 5.
    assert joined == {0: 0, 1: 0, 2: 1, 3: 2, 4: 4, 5: 4}
    assert {k for k, r in records.items() if r["status"] == "pruned"} == PRUNED_AFTER_ONE
    solo = engine(tmp_path / "solo")  # one engine: its width-1 program compiles once
    for k, record in records.items():
        alone = PopulationPlan(0, (every[k],), chunk=1)
        [own] = solo.run(alone, prune=prune_first, data_epoch=joined[k])
        assert record["status"] == own["status"], k
        assert record["evaluations_planned"] == every[k].config["epochs"]
        epochs = 1 if k in PRUNED_AFTER_ONE else every[k].config["epochs"]
        assert len(record["history"]) == len(own["history"]) == epochs
        for ours, theirs in zip(record["history"], own["history"], strict=True):
            assert ours["step"] == theirs["step"]
            for name in ("train_loss", "val_loss", "val_accuracy"):
                np.testing.assert_allclose(ours[name], theirs[name], rtol=1e-5, err_msg=f"{k}")
        mine = load_config_params(tmp_path / "stream", record["params"])
        theirs = load_config_params(tmp_path / "solo", own["params"])  # before the next run
        for a, b in zip(jax.tree.leaves(mine), jax.tree.leaves(theirs), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=f"{k}")
    # Another stream of the same program, other rates and other refills: nothing compiles.
    before = len(compile_counter)
    again = trials(rate=0.5)
    other = PopulationPlan(0, tuple(again[3:5]), chunk=1, queued=tuple(again[:3]))
    assert len(trainer.run(other, prune=prune_first)) == 5
    assert len(compile_counter) == before


class ScriptedSupply:
    """engine.Supply giving a list's trials in order; notes what it was told before each
    take and which configs the population refused."""

    def __init__(self, waiting):
        self.waiting, self.told, self.seen, self.refused = list(waiting), [], [], []

    def ended(self, records):
        self.told += [r["trial_id"] for r in records if r["trial_id"] not in self.told]

    def take(self, fits):
        if not self.waiting:
            return None
        trial = self.waiting.pop(0)
        self.seen.append(sorted(self.told))
        if not fits(trial.config):
            self.refused.append(trial.trial_id)
            return None
        return trial

    def position(self):
        return len(self.seen)

    def restore(self, position):
        assert position == 0

    def trial(self, trial_id):
        raise AssertionError("no snapshot in this test")


def test_a_supply_fills_the_slots_a_queue_would_after_hearing_of_each_ended_trial(tmp_path):
    """method bayes refills from the sampler: the same trials supplied one freed slot at a
    time train exactly as the same trials queued, each take told of every trial that had
    left its slot, and a config of another program is refused."""
    every = trials()
    queued = PopulationPlan(0, tuple(every[:2]), chunk=1, queued=tuple(every[2:]))
    expected = engine().run(queued, prune=prune_first)
    lstm = Trial(99, {**every[3].config, "architecture": "lstm"})
    supply = ScriptedSupply([*every[2:], lstm])
    plan = PopulationPlan(0, tuple(every[:2]), chunk=1)
    got = engine().run(plan, prune=prune_first, supply=supply)
    assert got == expected
    # Trial 0 was pruned after round 1, trial 1 completed after round 2, trials 2 and 3
    # after round 4: each before the take that follows.
    assert supply.seen[:4] == [[0], [0, 1], [0, 1, 2, 3], [0, 1, 2, 3]]
    assert supply.refused == [99]
