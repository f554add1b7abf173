"""population/state.py: one config's state, its initial values and the flat snapshot layout."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxtune.population.state import (
    ConfigState,
    Lifecycle,
    TrainState,
    flat,
    from_flat,
    initial_state,
)
from jaxtune.population.status import Status

K = 3


def small_state():
    params = {"head": {"kernel": jnp.arange(6.0).reshape(2, 3), "bias": jnp.ones(3)}}
    return initial_state(
        params, (jnp.zeros(2),), {"learning_rate": jnp.float32(0.1)}, jax.random.key(4)
    )


def distinct_state():
    """A state whose every field holds a different value, so a swap of two fields shows."""
    names = [f.name for cls in (TrainState, Lifecycle) for f in dataclasses.fields(cls)]
    fields = {name: jnp.full((2,), float(i)) for i, name in enumerate(names)}
    return from_flat(fields), fields


def test_a_new_config_is_running_with_nothing_best_yet():
    state = small_state()
    life, train = state.life, state.train
    assert bool(life.active) and int(life.status) == Status.RUNNING
    assert int(life.epoch) == int(life.best_epoch) == int(life.bad_epochs) == 0
    assert int(life.plateau_epochs) == 0
    assert float(life.best_score) == -np.inf  # any first evaluation is an improvement
    assert int(life.failed_step) == -1  # never failed
    assert int(train.step) == 0 and float(train.lr_scale) == 1.0
    assert train.step.dtype == jnp.int32 and train.lr_scale.dtype == jnp.float32
    jax.tree.map(np.testing.assert_array_equal, life.best_params, train.params)


def test_flat_names_every_field_of_both_parts_once():
    state = small_state()
    train_names = {f.name for f in dataclasses.fields(TrainState)}
    life_names = {f.name for f in dataclasses.fields(Lifecycle)}
    assert not train_names & life_names  # a shared name would lose a field in the mapping
    assert set(flat(state)) == train_names | life_names
    assert flat(state)["best_params"] is state.life.best_params
    assert flat(state)["opt_state"] is state.train.opt_state


def test_from_flat_puts_every_value_back_in_its_own_field():
    state, fields = distinct_state()
    for part in (state.train, state.life):
        for field in dataclasses.fields(part):
            assert getattr(part, field.name) is fields[field.name], field.name
    again = from_flat(flat(state))
    assert jax.tree.structure(again) == jax.tree.structure(state)
    jax.tree.map(np.testing.assert_array_equal, again, state)


def test_from_flat_names_a_missing_field():
    _, fields = distinct_state()
    del fields["plateau_epochs"]  # a field added after a snapshot was written
    with pytest.raises(KeyError, match="plateau_epochs"):
        from_flat(fields)


def test_a_vmapped_initial_state_has_the_k_axis_on_every_leaf():
    params = {"w": jnp.arange(K * 2.0).reshape(K, 2)}
    hparams = {"learning_rate": jnp.float32([0.1, 0.2, 0.3])}
    keys = jax.random.split(jax.random.key(0), K)
    state = jax.vmap(initial_state)(params, (), hparams, keys)
    assert isinstance(state, ConfigState)
    for path, leaf in jax.tree_util.tree_leaves_with_path(state):
        assert leaf.shape[:1] == (K,), jax.tree_util.keystr(path)
    np.testing.assert_array_equal(state.life.best_params["w"], params["w"])
    assert np.asarray(state.life.active).all()


def test_state_is_frozen_and_changed_by_replace():
    state = small_state()
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.train.step = jnp.int32(1)
    moved = state.replace(train=state.train.replace(step=jnp.int32(5)))
    assert int(moved.train.step) == 5 and int(state.train.step) == 0
