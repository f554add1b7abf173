"""compaction.py: a population's survivors move into a narrower one only where that saves
work, and their curves, statuses and best params go on unchanged; a resume from a
snapshot taken after compaction equals the uninterrupted run."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from support import configs, tiny_dataset

from jaxtune.checkpoints import load_config_params
from jaxtune.compaction import compaction, computed
from jaxtune.engine import Engine
from jaxtune.plan import PopulationPlan
from jaxtune.population.status import EarlyStopping
from jaxtune.schedulers.base import Standing, Verdict
from jaxtune.search.samplers import Trial
from jaxtune.snapshots import PopulationSnapshots

BASE = {"architecture": "gru", "hidden_size": 8, "embedding_dim": 8, "batch_size": 16}
RATES = [3e-3, 1e-2, 3e-2, 1e-3]
PRUNED = {1, 2}  # one in each chunk of two: the survivors 0 and 3 fill both chunks


def test_it_compacts_only_where_fewer_configs_are_computed_per_step():
    scattered = np.array([True, False, False, True])
    assert computed(scattered, 2) == 4 and computed(scattered, None) == 4
    assert list(compaction(scattered, 2, {4})) == [0, 3]  # 2 chunks -> 1
    assert compaction(scattered, 1, {4, 2}) is None  # chunk 1 skips inactive configs already
    together = np.array([True, True, False, False])
    assert compaction(together, 2, {4}) is None  # one chunk either way
    # One vmap: only a width already compiled comes free; inactive slots pad it.
    three = np.array([True, False, True, False, True, False, False, False])
    assert compaction(three, None, {8}) is None
    assert list(compaction(three, None, {8, 4})) == [0, 2, 4, 1]
    assert compaction(np.zeros(4, bool), 2, {4}) is None


def prune_two(standing: Standing) -> dict[int, Verdict]:
    """Trials 1 and 2 end after their first evaluation."""
    return {
        k: Verdict(1, 0.0, 1.0)
        for k in standing.reported
        if standing.trial_ids[k] in PRUNED and len(standing.histories[k]) == 1
    }


def plan() -> PopulationPlan:
    population = configs(BASE, [{"learning_rate": r, "epochs": 4} for r in RATES])
    return PopulationPlan(0, tuple(Trial(k, c) for k, c in enumerate(population)), chunk=2)


def engine(directory=None, chunk=2) -> Engine:
    return Engine(
        tiny_dataset(), seed=0, early_stopping=EarlyStopping(), chunk=chunk, params_dir=directory
    )


def test_survivors_curves_and_params_are_unchanged_by_compaction(tmp_path, compile_counter):
    trainer = engine(tmp_path / "population")
    records = trainer.run(plan(), prune=prune_two)
    assert {r["trial_id"] for r in records if r["status"] == "pruned"} == PRUNED
    assert trainer._widths[next(iter(trainer._widths))] == {4, 2}  # compacted to 2 slots
    solo = engine(tmp_path / "solo", chunk=1)
    for record, trial in zip(records, plan().trials, strict=True):
        [own] = solo.run(PopulationPlan(0, (trial,), chunk=1), prune=prune_two)
        assert record["status"] == own["status"]
        assert len(record["history"]) == len(own["history"])
        for ours, theirs in zip(record["history"], own["history"], strict=True):
            for name in ("train_loss", "val_loss", "val_accuracy"):
                np.testing.assert_allclose(ours[name], theirs[name], rtol=1e-5)
        mine = load_config_params(tmp_path / "population", record["params"])
        theirs = load_config_params(tmp_path / "solo", own["params"])
        for a, b in zip(jax.tree.leaves(mine), jax.tree.leaves(theirs), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    # The same population again: its widths are compiled, nothing compiles.
    before = len(compile_counter)
    trainer.run(plan(), prune=prune_two)
    assert len(compile_counter) == before


class Killed(Exception):
    pass


def test_a_resume_from_a_snapshot_after_compaction_equals_the_whole_run(tmp_path, monkeypatch):
    trainer = engine()
    whole = trainer.run(plan(), prune=prune_two)
    save = PopulationSnapshots.maybe_save

    def save_then_stop(self, epoch, state, progress, *, last):
        saved = save(self, epoch, state, progress, last=last)
        if epoch == 2:  # compacted after the first round
            assert len(progress["compacted"]) == 2
            raise Killed
        return saved

    monkeypatch.setattr(PopulationSnapshots, "maybe_save", save_then_stop)
    snapshots = PopulationSnapshots(tmp_path, 0, every=1)
    with pytest.raises(Killed):
        trainer.run(plan(), snapshots=snapshots, prune=prune_two)
    snapshots.close()
    monkeypatch.undo()
    snapshots = PopulationSnapshots(tmp_path, 0, every=1)
    resumed = engine().run(plan(), snapshots=snapshots, prune=prune_two)  # a fresh process
    snapshots.close()
    assert [r["status"] for r in resumed] == [r["status"] for r in whole]
    for ours, theirs in zip(resumed, whole, strict=True):
        assert len(ours["history"]) == len(theirs["history"])
        for a, b in zip(ours["history"], theirs["history"], strict=True):
            np.testing.assert_allclose(a["val_loss"], b["val_loss"], rtol=1e-6)
