"""Population-based training: Ray Tune's quantiles and explore, exploit as an exact gather
of the source's training state, lineage in the records, no recompile, the spec section,
and a PBT sweep from the CLI."""

from __future__ import annotations

import json
import math

import jax
import numpy as np
import pytest
import yaml
from data_slices import make_slice
from support import configs, tiny_dataset
from typer.testing import CliRunner

from jaxtune.cli import app
from jaxtune.distributions import Distribution
from jaxtune.engine import Engine
from jaxtune.plan import PopulationPlan
from jaxtune.population.status import EarlyStopping
from jaxtune.report.lineage import schedule
from jaxtune.schedulers.pbt import Mutation, PopulationBasedTraining
from jaxtune.search.samplers import Trial
from jaxtune.snapshots import PopulationSnapshots
from jaxtune.spec import SpecError, parse_spec

runner = CliRunner()
RATE = Mutation(
    "learning_rate", distribution=Distribution("log_uniform_values", min=1e-4, max=1e-1)
)
DROPOUT = Mutation("dropout", values=(0.0, 0.1, 0.3, 0.5))


def pbt(**options) -> PopulationBasedTraining:
    return PopulationBasedTraining(1, (RATE, DROPOUT), **options)


def test_quantiles_take_ceil_n_fraction_at_each_end_at_most_half():
    scores = {k: float(v) for k, v in enumerate([5, 1, 4, 2, 8, 7, 3, 6])}
    assert pbt().quantiles(scores) == ([1, 3], [5, 4])  # ceil(8 * 0.25) = 2, worst first
    three = {0: 0.2, 1: 0.9, 2: 0.5}
    assert pbt(quantile_fraction=0.5).quantiles(three) == ([0], [1])  # ceil 1.5 > 1.5: 1
    assert pbt().quantiles({0: 1.0}) == ([], [])


def test_explore_shifts_a_list_one_step_and_keeps_ranges_in_bounds():
    rng = np.random.default_rng(0)
    never = pbt(resample_probability=0.0)
    moves = {DROPOUT.explore(0.1, rng, never) for _ in range(50)}
    assert moves == {0.0, 0.3}  # one index left or right
    assert {DROPOUT.explore(0.5, rng, never) for _ in range(50)} == {0.3, 0.5}  # clipped
    # float32 as the population holds it: still the listed value 0.1
    assert DROPOUT.explore(float(np.float32(0.1)), rng, never) in (0.0, 0.3)
    products = {RATE.explore(0.01, rng, never) for _ in range(50)}
    assert sorted(products) == pytest.approx([0.008, 0.012])  # x 0.8 or x 1.2
    assert RATE.explore(0.1, rng, pbt(resample_probability=0.0, perturbation_factors=(1.2,))) == 0.1
    always = pbt(resample_probability=1.0)
    draws = [RATE.explore(0.01, rng, always) for _ in range(200)]
    assert all(1e-4 <= d <= 1e-1 for d in draws) and len(set(draws)) == 200


def test_perturb_copies_a_top_config_and_explores_its_values():
    scores = {k: float(k) for k in range(8)}  # config 7 is the best
    values = [{"learning_rate": 0.001 * (k + 1), "dropout": 0.1} for k in range(8)]
    moves = pbt(resample_probability=0.0).perturb(scores, values, (0, 3))
    assert [m.slot for m in moves] == [0, 1]
    for move in moves:
        assert move.source in (6, 7)
        rate = values[move.source]["learning_rate"]
        assert move.hparams["learning_rate"] == pytest.approx(rate * 1.2) or move.hparams[
            "learning_rate"
        ] == pytest.approx(rate * 0.8)
        assert move.hparams["dropout"] in (0.0, 0.3)
    assert moves == pbt(resample_probability=0.0).perturb(scores, values, (0, 3))  # seeded


BASE = {"architecture": "gru", "hidden_size": 8, "embedding_dim": 8, "batch_size": 16, "epochs": 3}
RATES = [3e-3, 1e-2, 3e-2, 1e-3]


def _plan():
    population = configs(BASE, [{"learning_rate": r, "dropout": 0.1} for r in RATES])
    return PopulationPlan(0, tuple(Trial(k, c) for k, c in enumerate(population)), chunk=1)


def test_exploit_copies_the_sources_training_state_exactly():
    engine = Engine(tiny_dataset(), seed=0, early_stopping=EarlyStopping(), chunk=1)
    plan = _plan()
    population = engine.population(plan.trials[0].config)
    from jaxtune.population.hparams import hparam_arrays, trial_keys

    hparams = hparam_arrays([t.config for t in plan.trials], steps_per_epoch=10)
    state = population.init(hparams, trial_keys(0, [0, 1, 2, 3]))
    view = engine.view(plan.trials[0].config).on(population, 4)
    state, _ = engine.train_calls(population, state, view, engine.train_blocks(view, 16, 0))
    before = jax.device_get(state)
    new_rates = np.asarray(before.train.hparams["learning_rate"]).copy()
    new_rates[1] = 0.05
    state = population.exploit(
        state, np.array([0, 3, 2, 3], np.int32), {"learning_rate": new_rates}
    )
    after = jax.device_get(state)
    for part in ("params", "opt_state"):
        for a, b in zip(
            jax.tree.leaves(getattr(after.train, part)),
            jax.tree.leaves(getattr(before.train, part)),
            strict=True,
        ):
            np.testing.assert_array_equal(a[1], b[3])  # slot 1 is slot 3's, bit for bit
            np.testing.assert_array_equal(a[[0, 2, 3]], b[[0, 2, 3]])
    assert float(after.train.hparams["learning_rate"][1]) == pytest.approx(0.05)
    np.testing.assert_array_equal(after.train.step, before.train.step)  # its own steps
    np.testing.assert_array_equal(
        jax.random.key_data(after.train.key), jax.random.key_data(before.train.key)
    )


def test_pbt_in_the_engine_records_lineage_and_never_recompiles(compile_counter):
    engine = Engine(tiny_dataset(), seed=0, early_stopping=EarlyStopping(), chunk=1)
    records = engine.run(_plan(), evolve=pbt(quantile_fraction=0.25))
    moved = {r["trial_id"]: r["lineage"] for r in records if "lineage" in r}
    # Rounds 1 and 2 (round 3 ends every config): one of 4 configs each time.
    assert sum(len(events) for events in moved.values()) == 2
    for events in moved.values():
        for event in events:
            assert event["epoch"] in (1, 2) and event["copied"] in range(4)
            assert 1e-4 <= event["hparams"]["learning_rate"] <= 1e-1
            assert event["hparams"]["dropout"] in DROPOUT.values
    assert all(len(r["history"]) == 3 for r in records)
    before = len(compile_counter)
    other = engine.run(_plan(), evolve=pbt(quantile_fraction=0.5, seed=7))  # other moves
    assert sum(len(r.get("lineage", [])) for r in other) == 4
    assert len(compile_counter) == before


SPEC = """\
name: evolved
method: grid
metric: {name: val_accuracy, goal: maximize}
data: {name: emotion, max_length: 24}
model: {architecture: gru, embedding_dim: 16, hidden_size: 16}
train: {epochs: 3}
scheduler:
  type: pbt
  perturbation_interval: 1
  quantile_fraction: 0.25
  hyperparam_mutations:
    learning_rate: {distribution: log_uniform_values, min: 0.0001, max: 0.03}
    dropout: [0.0, 0.2, 0.4]
parameters:
  learning_rate: {values: [0.0003, 0.001, 0.003, 0.01]}
  dropout: {values: [0.0, 0.4]}
"""
# The CLI run: the four rates, dropout 0.4 (a quicker sweep of the same spec).
CLI_PARAMETERS = {"learning_rate": {"values": [0.0003, 0.001, 0.003, 0.01]}}


def test_a_pbt_sweep_from_the_cli_records_every_perturbation(tmp_path):
    data_dir = make_slice(tmp_path / "data")
    spec = tmp_path / "evolved.yaml"
    document = yaml.safe_load(SPEC) | {"parameters": CLI_PARAMETERS}
    document["model"]["dropout"] = 0.4
    spec.write_text(yaml.safe_dump(document))
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["sweep", str(spec), "--data-dir", str(data_dir), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "scheduler pbt: every 1 evaluations" in " ".join(result.output.split())
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(records) == 4
    events = [e for r in records for e in r.get("lineage", [])]
    assert len(events) == 2  # after evaluations 1 and 2, the worst ceil(4 / 4) = 1
    ids = {r["trial_id"] for r in records}
    for event in events:
        assert event["copied"] in ids and event["epoch"] in (1, 2)
        assert 1e-4 <= event["hparams"]["learning_rate"] <= 0.03
        assert event["hparams"]["dropout"] in (0.0, 0.2, 0.4)
    result = runner.invoke(app, ["report", str(out)])
    assert result.exit_code == 0, result.output
    report = (out / "report.md").read_text()
    assert "## Population-based training" in report
    assert "2 perturbations of" in report
    assert (out / "figures" / "pbt_schedules.png").is_file()


def test_a_configs_schedule_changes_after_each_perturbation():
    record = {
        "hparams": {"learning_rate": 0.01, "dropout": 0.0},
        "history": [{"epoch": e} for e in (1, 2, 3, 4)],
        "lineage": [
            {"epoch": 1, "copied": 3, "hparams": {"learning_rate": 0.012, "dropout": 0.2}},
            {"epoch": 3, "copied": 5, "hparams": {"learning_rate": 0.008, "dropout": 0.2}},
        ],
    }
    assert schedule(record, "learning_rate") == [0.01, 0.012, 0.012, 0.008]
    assert schedule(record, "dropout") == [0.0, 0.2, 0.2, 0.2]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"perturbation_interval": None}, "scheduler.perturbation_interval: missing"),
        ({"quantile_fraction": 0.6}, "scheduler.quantile_fraction: expected a number in [0, 0.5]"),
        (
            {"hyperparam_mutations": {"hidden_size": [8, 16]}},
            "scheduler.hyperparam_mutations.hidden_size: pbt perturbs learning_rate,",
        ),
        (
            {"hyperparam_mutations": {"dropout": {"min": 0.0, "max": 2.0}}},
            "scheduler.hyperparam_mutations.dropout.max: expected",
        ),
        ({"perturbation_factors": []}, "scheduler.perturbation_factors: expected a non-empty list"),
    ],
)
def test_bad_pbt_sections_are_one_line(change, message):
    document = yaml.safe_load(SPEC)
    document["scheduler"] = {
        k: v for k, v in (document["scheduler"] | change).items() if v is not None
    }
    with pytest.raises(SpecError) as error:
        parse_spec(document, "s.yaml")
    assert str(error.value).startswith(f"s.yaml: {message}"), str(error.value)
    assert "\n" not in str(error.value)


def test_the_pbt_section_as_ray_tune_takes_it():
    spec = parse_spec(yaml.safe_load(SPEC), "s.yaml")
    rule = spec.scheduler
    assert isinstance(rule, PopulationBasedTraining)
    assert (rule.perturbation_interval, rule.resample_probability) == (1, 0.25)
    assert rule.perturbation_factors == (1.2, 0.8)
    assert rule.mutations[1] == Mutation("dropout", values=(0.0, 0.2, 0.4))
    assert math.isclose(rule.mutations[0].distribution.max, 0.03)


class Killed(Exception):
    pass


def test_a_pbt_population_stopped_after_a_snapshot_resumes_to_the_same_records(
    tmp_path, monkeypatch
):
    engine = Engine(tiny_dataset(), seed=0, early_stopping=EarlyStopping(), chunk=1)
    rule = pbt(quantile_fraction=0.5)
    whole = engine.run(_plan(), evolve=rule)
    save = PopulationSnapshots.maybe_save

    def save_then_stop(self, epoch, state, progress, *, last):
        saved = save(self, epoch, state, progress, last=last)
        if epoch == 2:  # after the second round's perturbations
            raise Killed
        return saved

    monkeypatch.setattr(PopulationSnapshots, "maybe_save", save_then_stop)
    snapshots = PopulationSnapshots(tmp_path, 0, every=1)
    with pytest.raises(Killed):
        engine.run(_plan(), snapshots=snapshots, evolve=rule)
    snapshots.close()
    monkeypatch.undo()
    snapshots = PopulationSnapshots(tmp_path, 0, every=1)
    assert snapshots.latest_epoch() == 2
    resumed = engine.run(_plan(), snapshots=snapshots, evolve=rule)
    snapshots.close()
    assert [r.get("lineage") for r in resumed] == [r.get("lineage") for r in whole]
    assert sum(len(r.get("lineage", [])) for r in whole) == 4
    for ours, theirs in zip(resumed, whole, strict=True):
        for a, b in zip(ours["history"], theirs["history"], strict=True):
            np.testing.assert_allclose(a["val_loss"], b["val_loss"], rtol=1e-6)
