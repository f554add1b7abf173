"""population/hparams.py: dynamic hyperparameters as [K] arrays, and per-trial keys."""

import jax
import jax.numpy as jnp
import numpy as np

from jaxtune.population.hparams import hparam_arrays, trial_keys
from jaxtune.schedules import SCHEDULES
from jaxtune.space import DYNAMIC_NAMES, OPTIMIZERS, complete_config

CONFIGS = [
    complete_config(
        {
            "optimizer": "sgd",
            "nesterov": True,
            "learning_rate": 0.3,
            "clip_norm": None,
            "lr_schedule": "cosine",
            "embedding_trainable": False,
            "epochs": 4,
            "dropout": 0.25,
        }
    ),
    complete_config({"optimizer": "adamw", "learning_rate": 2e-3, "clip_norm": 1.5, "epochs": 7}),
]
BOOLEAN = {"embedding_trainable", "nesterov"}
INTEGER = {"optimizer", "epochs", "lr_schedule"}


def key_bits(keys):
    return np.asarray(jax.random.key_data(keys))


def test_every_dynamic_name_is_a_k_array_of_its_dtype():
    arrays = hparam_arrays(CONFIGS, steps_per_epoch=5)
    assert set(arrays) == set(DYNAMIC_NAMES) | {"total_steps"}
    for name, values in arrays.items():
        assert values.shape == (len(CONFIGS),), name
        if name in BOOLEAN:
            assert values.dtype == np.bool_, name
        elif name in INTEGER:
            assert values.dtype == np.int32, name
        else:
            assert values.dtype == np.float32, name


def test_values_are_the_configs_own_with_names_encoded_as_codes():
    arrays = hparam_arrays(CONFIGS, steps_per_epoch=5)
    assert arrays["optimizer"].tolist() == [OPTIMIZERS.index("sgd"), OPTIMIZERS.index("adamw")]
    assert arrays["lr_schedule"].tolist() == [
        SCHEDULES.index("cosine"),
        SCHEDULES.index("constant"),
    ]
    assert arrays["nesterov"].tolist() == [True, False]
    assert arrays["embedding_trainable"].tolist() == [False, True]
    np.testing.assert_array_equal(arrays["learning_rate"], np.float32([0.3, 2e-3]))
    np.testing.assert_array_equal(arrays["dropout"], np.float32([0.25, 0.0]))
    # No clipping is an infinite norm bound, so every config runs the same clip code.
    assert arrays["clip_norm"][0] == np.inf and arrays["clip_norm"][1] == np.float32(1.5)


def test_total_steps_is_epochs_times_steps_per_epoch_unless_max_steps_is_set():
    arrays = hparam_arrays(CONFIGS, steps_per_epoch=5)
    np.testing.assert_array_equal(arrays["total_steps"], [4 * 5, 7 * 5])
    capped = hparam_arrays(CONFIGS, steps_per_epoch=5, max_steps=12)
    np.testing.assert_array_equal(capped["total_steps"], [12, 12])
    assert capped["total_steps"].dtype == np.float32
    np.testing.assert_array_equal(capped["epochs"], arrays["epochs"])  # epochs unchanged


def test_a_trials_key_depends_on_its_trial_id_not_its_slot():
    keys = trial_keys(7, [4, 2, 9])
    assert keys.shape == (3,)
    expected = jax.random.fold_in(jax.random.key(7), 2)
    np.testing.assert_array_equal(key_bits(keys[1]), key_bits(expected))
    np.testing.assert_array_equal(key_bits(trial_keys(7, [2])[0]), key_bits(expected))
    np.testing.assert_array_equal(key_bits(trial_keys(7, [9, 2])[1]), key_bits(expected))


def test_keys_differ_between_trials_and_between_sweep_seeds():
    bits = key_bits(trial_keys(7, [0, 1, 2]))
    assert len({row.tobytes() for row in bits}) == 3
    assert not np.array_equal(key_bits(trial_keys(8, [0])), bits[:1])
    # Keys draw different numbers: the configs of a population do not share randomness.
    draws = jax.vmap(lambda key: jax.random.uniform(key, (4,)))(trial_keys(7, [0, 1]))
    assert not jnp.allclose(draws[0], draws[1])
