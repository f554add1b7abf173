"""snapshots.py and population/state.py's flat layout: a population's whole state saved
and restored exactly, under the field names sweeps written before the state split used."""

import jax
import numpy as np
from support import SEED, configs, tiny_dataset
from test_population import ARCHITECTURES, VARIATIONS

from jaxtune.population.factory import make_population
from jaxtune.population.hparams import hparam_arrays, trial_keys
from jaxtune.population.program import program_for
from jaxtune.population.state import flat, from_flat
from jaxtune.population.status import EarlyStopping
from jaxtune.snapshots import PopulationSnapshots

# TrainState's fields at 80e7edf, the layout in tests/fixtures/killed_sweep_80e7edf.
OLD_FIELDS = {
    "params", "opt_state", "hparams", "key", "step", "active", "status", "epoch",
    "best_score", "best_epoch", "bad_epochs", "best_params", "failed_step", "lr_scale",
    "plateau_epochs",
}  # fmt: skip


def host(tree):
    return jax.tree.map(
        lambda x: np.asarray(
            jax.random.key_data(x) if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key) else x
        ),
        jax.device_get(tree),
    )


def test_the_flat_layout_is_the_old_one_and_round_trips():
    population_configs = configs(ARCHITECTURES[0], VARIATIONS[:2])
    population = make_population(
        program_for(population_configs[0], tiny_dataset()), EarlyStopping()
    )
    state = population.init(
        hparam_arrays(population_configs, steps_per_epoch=3), trial_keys(0, [0, 1])
    )
    assert set(flat(state)) == OLD_FIELDS
    jax.tree.map(np.testing.assert_array_equal, host(from_flat(flat(state))), host(state))


def test_a_snapshot_restores_the_newest_state_and_progress(tmp_path):
    population_configs = configs(ARCHITECTURES[1], VARIATIONS[:2])
    population = make_population(
        program_for(population_configs[0], tiny_dataset()), EarlyStopping()
    )
    hparams = hparam_arrays(population_configs, steps_per_epoch=3)
    states = [population.init(hparams, trial_keys(SEED + seed, [0, 1])) for seed in range(3)]
    snapshots = PopulationSnapshots(tmp_path, 0, every=2)
    saved = [
        snapshots.maybe_save(epoch, state, {"histories": [[epoch], []]}, last=epoch == 3)
        for epoch, state in zip((1, 2, 3), states, strict=True)
    ]
    assert saved == [False, True, True]  # every 2, and the last
    snapshots.close()
    reopened = PopulationSnapshots(tmp_path, 0, every=2)
    assert reopened.latest_epoch() == 3
    template = population.init(hparams, trial_keys(99, [0, 1]))
    restored, progress = reopened.restore(template)
    assert progress == {"histories": [[3], []]}
    jax.tree.map(np.testing.assert_array_equal, host(restored), host(states[2]))
    reopened.delete()
    assert not reopened.path.exists()
