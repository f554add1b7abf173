"""checkpoints.py: a population's stacked best params saved once, one config's slot loaded."""

import shutil

import jax
import numpy as np

from jaxtune.checkpoints import load_config_params, population_path, save_population_params
from jaxtune.layout import PARAMS_DIR

K = 3


def stacked_params(offset=0.0):
    """[K, ...] params in which every config's slot holds different values."""
    rng = np.random.default_rng(abs(int(offset)))
    return {
        "embedding": {"embedding": rng.normal(size=(K, 5, 2)).astype(np.float32) + offset},
        "encoder": {"layer0_fwd": {"w_h": rng.normal(size=(K, 2, 6)).astype(np.float32)}},
        "head": {"bias": np.arange(K * 3, dtype=np.float32).reshape(K, 3) + offset},
    }


def test_each_slot_loads_back_exactly_from_a_relative_reference(tmp_path):
    params = stacked_params()
    relative = save_population_params(tmp_path, 7, params)
    assert relative == str(population_path(tmp_path, 7).relative_to(tmp_path))
    assert relative.startswith(PARAMS_DIR)
    # Written to a temporary name and renamed when complete: nothing else is left behind.
    assert [p.name for p in (tmp_path / PARAMS_DIR).iterdir()] == [
        population_path(tmp_path, 7).name
    ]
    for slot in range(K):
        loaded = load_config_params(tmp_path, {"checkpoint": relative, "slot": slot})
        assert jax.tree.structure(loaded) == jax.tree.structure(params)
        jax.tree.map(
            lambda got, saved, slot=slot: np.testing.assert_array_equal(got, saved[slot]),
            loaded,
            params,
        )


def test_a_copied_sweep_directory_still_finds_its_params(tmp_path):
    """Records hold paths relative to the sweep directory, so the directory can move."""
    params = stacked_params()
    reference = {"checkpoint": save_population_params(tmp_path / "sweep", 0, params), "slot": 2}
    shutil.copytree(tmp_path / "sweep", tmp_path / "moved")
    shutil.rmtree(tmp_path / "sweep")
    loaded = load_config_params(tmp_path / "moved", reference)
    np.testing.assert_array_equal(loaded["head"]["bias"], params["head"]["bias"][2])


def test_saving_a_population_again_replaces_its_checkpoint(tmp_path):
    first = save_population_params(tmp_path, 1, stacked_params())
    newer = stacked_params(offset=10.0)
    assert save_population_params(tmp_path, 1, newer) == first
    loaded = load_config_params(tmp_path, {"checkpoint": first, "slot": 0})
    np.testing.assert_array_equal(
        loaded["embedding"]["embedding"], newer["embedding"]["embedding"][0]
    )
    # Populations have their own checkpoints.
    other = save_population_params(tmp_path, 2, stacked_params(offset=-5.0))
    assert other != first
    loaded = load_config_params(tmp_path, {"checkpoint": first, "slot": 1})
    np.testing.assert_array_equal(loaded["head"]["bias"], newer["head"]["bias"][1])
