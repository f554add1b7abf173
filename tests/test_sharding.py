"""The config axis split over devices (conftest starts 4 CPU devices): same results, every
device holding its share of the population."""

import json
import os

import jax
import numpy as np
import pytest
import yaml
from support import configs, run_python, tiny_dataset, train
from test_population import ARCHITECTURES, VARIATIONS, assert_population_matches_solo
from typer.testing import CliRunner

from jaxtune.cli import app
from jaxtune.memory import MemoryEstimate
from jaxtune.plan import PopulationPlan
from jaxtune.population.factory import make_population
from jaxtune.population.hparams import hparam_arrays, trial_keys
from jaxtune.population.program import program_for
from jaxtune.population.status import EarlyStopping
from jaxtune.sharding import config_mesh, local_devices


def devices_holding(state) -> int:
    """How many devices hold a piece of the population's params."""
    leaves = jax.tree.leaves(state.train.params)
    counts = {len(leaf.sharding.device_set) for leaf in leaves}
    assert len(counts) == 1, counts
    return counts.pop()


def test_a_population_uses_gcd_of_its_width_and_the_devices():
    devices = local_devices()
    assert len(devices) == 4
    assert config_mesh(8, devices).devices.size == 4
    assert config_mesh(6, devices).devices.size == 2
    assert config_mesh(3, devices) is None  # no common factor: one device
    assert config_mesh(1, devices) is None
    assert config_mesh(8, local_devices(2)).devices.size == 2
    assert len(local_devices(1)) == 1


@pytest.mark.parametrize(
    "base,devices,chunk",
    [
        (ARCHITECTURES[1], 4, 1),  # lstm, one config per device
        (ARCHITECTURES[0], 2, None),  # gru, two configs per device as one vmap
        (ARCHITECTURES[3], 2, 1),  # cnn
    ],
    ids=["lstm-4dev-chunk1", "gru-2dev-vmap", "cnn-2dev-chunk1"],
)
def test_population_split_over_devices_matches_solo(base, devices, chunk):
    population = configs(base, VARIATIONS)
    state, _ = train(population, epochs=1, devices=devices, chunk=chunk)
    assert devices_holding(state) == devices
    assert_population_matches_solo(population, chunk=chunk, devices=devices)


def test_lazy_embedding_update_split_over_devices_matches_solo():
    population = configs(ARCHITECTURES[0], VARIATIONS)
    assert_population_matches_solo(population, chunk=1, devices=4, embedding_update="lazy")


def test_six_configs_on_four_devices_use_two_with_a_chunk_remainder_on_each():
    """K=6 over gcd(6, 4) = 2 devices: 3 configs each, computed 2 + 1 at a time.

    Compared to float32 rounding (rtol 1e-5, as population equals solo): the remainder
    chunk of one config runs the plain single-config program (chunks.config_map) where
    one device computes that config in a vmapped chunk of two."""
    variations = [*VARIATIONS, {"learning_rate": 4e-3}, {"learning_rate": 7e-4, "dropout": 0.3}]
    population = configs(ARCHITECTURES[1], variations)
    split, split_history = train(population, epochs=2, chunk=2)
    assert devices_holding(split) == 2
    one, one_history = train(population, epochs=2, chunk=2, devices=1)
    assert devices_holding(one) == 1
    for split_epoch, one_epoch in zip(split_history, one_history, strict=True):
        for metric, values in split_epoch.items():
            np.testing.assert_allclose(values, one_epoch[metric], rtol=1e-5, err_msg=metric)
    jax.tree.map(
        lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6),
        split.train.params,
        one.train.params,
    )


def test_divergent_config_on_one_device_leaves_the_other_devices_configs_alone():
    base = {**ARCHITECTURES[0], "optimizer": "sgd", "epochs": 2}
    population = configs(base, [{"learning_rate": 0.05}, {"learning_rate": 500.0}])
    population += configs(base, [{"learning_rate": 0.1}, {"learning_rate": 0.02}])
    split, history = train(population, epochs=2, chunk=1, devices=4)
    one, one_history = train(population, epochs=2, chunk=1, devices=1)
    np.testing.assert_array_equal(np.asarray(split.life.status), np.asarray(one.life.status))
    assert int(np.asarray(split.life.status)[1]) != int(
        np.asarray(split.life.status)[0]
    )  # it failed
    for k in (0, 2, 3):
        np.testing.assert_allclose(
            history[-1]["val_loss"][k], one_history[-1]["val_loss"][k], rtol=1e-6
        )


def test_memory_estimate_counts_one_chunk_of_activations_per_device():
    estimate = MemoryEstimate(
        params=100, optimizer_state=200, best_params=100, step_transient=300, activations=1000
    )
    plan = PopulationPlan(0, (), estimate, chunk=1, padded_width=8, devices=2)
    assert plan.estimated_bytes == 8 * estimate.persistent + 2 * estimate.per_step
    one = PopulationPlan(0, (), estimate, chunk=1, padded_width=8, devices=1)
    assert plan.estimated_bytes - one.estimated_bytes == estimate.per_step


def test_jaxtune_starts_one_cpu_device_per_core_unless_the_user_says():
    probe = "import jaxtune, jax; print(jax.local_device_count())"

    def count(**extra):
        drop = ("XLA_FLAGS", "JAX_NUM_CPU_DEVICES")
        return int(run_python(["-c", probe], drop=drop, **extra).stdout.strip())

    assert count() == len(os.sched_getaffinity(0))
    assert count(JAX_NUM_CPU_DEVICES="3") == 3
    assert count(XLA_FLAGS="--xla_force_host_platform_device_count=5") == 5


def test_a_sweep_split_over_devices_gives_the_one_device_results(tmp_path):
    """budget.devices reaches the engine, and the split changes nothing in the results."""
    records, runs = {}, {}
    for devices in (1, "auto"):
        spec = tmp_path / f"{devices}.yaml"
        spec.write_text(
            yaml.safe_dump(
                {
                    "name": f"devices-{devices}",
                    "data": {"train_size": 160, "val_size": 32, "test_size": 16},
                    "model": {"architecture": "gru", "hidden_size": 8, "embedding_dim": 8},
                    "train": {"epochs": 2},
                    "parameters": {"learning_rate": {"values": [0.003, 0.01, 0.03]}},
                    "budget": {"devices": devices},
                }
            )
        )
        out = tmp_path / str(devices)
        result = CliRunner().invoke(app, ["sweep", str(spec), "--out", str(out)])
        assert result.exit_code == 0, result.output
        lines = (out / "results.jsonl").read_text().splitlines()
        records[devices] = sorted((json.loads(line) for line in lines), key=lambda r: r["trial_id"])
        runs[devices] = json.loads((out / "sweep.json").read_text())
    assert runs[1]["devices"] == 1
    assert runs["auto"]["devices"] == 4
    assert len(records[1]) == len(records["auto"]) == 3  # 3 configs in 4 slots: 4 devices
    for one, split in zip(records[1], records["auto"], strict=True):
        assert one["status"] == split["status"] == "completed"
        for a, b in zip(one["history"], split["history"], strict=True):
            np.testing.assert_allclose(a["train_loss"], b["train_loss"], rtol=1e-6)
            np.testing.assert_allclose(a["val_loss"], b["val_loss"], rtol=1e-6)


def test_a_split_population_compiles_its_programs_once(compile_counter):
    """The state is on the devices from its init on, and every function keeps it there: a
    state on one device first and split after would compile each program a second time."""
    population = configs(ARCHITECTURES[0], VARIATIONS)
    trainer = make_population(program_for(population[0], tiny_dataset()), EarlyStopping(), chunk=1)
    state, _ = train(population, epochs=1, population=trainer)
    assert devices_holding(state) == 4
    compiled = len(compile_counter)
    assert compiled >= 4  # init, train_round, evaluate, after_evaluation: the counter works
    state, _ = train(population, epochs=3, population=trainer)  # epoch 2 sees epoch 1's output
    assert devices_holding(state) == 4
    assert len(compile_counter) == compiled


def test_init_never_holds_more_than_the_finished_population(monkeypatch):
    """Each device's share is made and moved on its own, so no moment of the init holds
    more than the population it returns (made whole and then moved, its largest leaf was
    alive twice); and the state equals the one made on one device."""
    population = configs(ARCHITECTURES[1], VARIATIONS)  # lstm: orthogonal init, QRs
    program = program_for(population[0], tiny_dataset())
    hparams = hparam_arrays(population, steps_per_epoch=2)
    keys = trial_keys(0, range(len(population)))

    def host(state):  # keys as their bits
        return jax.tree.map(
            lambda x: np.asarray(
                jax.random.key_data(x) if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key) else x
            ),
            state,
        )

    alone = host(make_population(program, EarlyStopping(), devices=1).init(hparams, keys))

    def live_bytes():
        return sum(array.nbytes for array in jax.live_arrays())

    seen, put = [], jax.device_put

    def put_and_count(*args, **kwargs):  # the moment a leaf is alive on two devices
        moved = jax.block_until_ready(put(*args, **kwargs))
        seen.append(live_bytes())
        return moved

    before = live_bytes()
    monkeypatch.setattr(jax, "device_put", put_and_count)
    state = make_population(program, EarlyStopping(), devices=4).init(hparams, keys)
    monkeypatch.undo()
    assert devices_holding(state) == 4
    assert len(seen) >= len(jax.tree.leaves(state))  # the counter saw every leaf move
    finished = live_bytes() - before
    assert max(seen) - before <= finished
    jax.tree.map(np.testing.assert_array_equal, host(state), alone)
