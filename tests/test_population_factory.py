"""population/factory.py on its own: a training round moves nothing between host and
device behind the caller's back, compiles once, and a population of width 1 is one config
alone (what `final` and the one-at-a-time benchmark use)."""

import jax
import numpy as np
import pytest
from support import SEED, configs, select, tiny_dataset
from test_population import ARCHITECTURES, VARIATIONS

from jaxtune.data.dataset import epoch_batches
from jaxtune.population.factory import make_population
from jaxtune.population.hparams import hparam_arrays, trial_keys
from jaxtune.population.lifecycle import stopping_args
from jaxtune.population.program import program_for
from jaxtune.population.status import EarlyStopping, Status
from jaxtune.population.step import to_device


def _population_and_inputs(population_configs, **options):
    dataset = tiny_dataset()
    population = make_population(
        program_for(population_configs[0], dataset), EarlyStopping(), **options
    )
    batch_size = population_configs[0]["batch_size"]
    index, weights = epoch_batches(len(dataset.train), batch_size, SEED, 0)  # [S, B]
    hparams = hparam_arrays(population_configs, steps_per_epoch=len(index))
    state = population.init(hparams, trial_keys(SEED, range(len(population_configs))))
    split = population.share(to_device(dataset.train), len(population_configs))
    return population, state, split, index, weights


def test_a_training_round_and_its_evaluation_make_no_hidden_host_transfer():
    population, state, split, index, weights = _population_and_inputs(
        configs(ARCHITECTURES[1], VARIATIONS), chunk=1
    )
    # Everything a round reads is put on the population's devices first, explicitly (the
    # split by `share`, as the engine does once per population).
    width = len(jax.tree.leaves(state.train.step)[0])
    index, weights, max_loss = population.share((index, weights, np.float32(100.0)), width)
    patience, min_delta = population.share(stopping_args(EarlyStopping(patience=2)), width)
    for _ in range(2):  # the first call compiles, the second runs the cached program
        with jax.transfer_guard("disallow"):
            state, metrics = population.train_round(state, split, index, weights, max_loss)
            inputs = population.eval_inputs(state.train.hparams)
            totals = population.evaluate_totals((state.train.params, inputs), split, index, weights)
            val = population.metrics(totals[0])
            state, rates = population.after_evaluation(state, val, patience, min_delta)
    # The guard is live: an implicit host-to-device copy of a numpy array is refused.
    with jax.transfer_guard("disallow"), pytest.raises(Exception, match="Disallowed host-to"):
        population.train_round(state, split, np.asarray(index), weights, max_loss)
    assert np.all(np.asarray(metrics["count"]) > 0)
    assert np.all(np.isfinite(np.asarray(rates)))


def test_train_round_compiles_once_for_new_values_and_states(compile_counter):
    population, state, split, index, weights = _population_and_inputs(
        configs(ARCHITECTURES[0], VARIATIONS[:2])
    )
    max_loss = np.float32(100.0)
    state, _ = population.train_round(state, split, index, weights, max_loss)
    compiled = len(compile_counter)
    assert compiled >= 1
    for epoch in (1, 2):  # another batch order, another bound, the state it returned
        index, weights = epoch_batches(len(tiny_dataset().train), 32, SEED, epoch)
        state, _ = population.train_round(state, split, index, weights, np.float32(epoch))
    assert len(compile_counter) == compiled


def test_a_population_of_width_one_is_its_config_alone():
    population_configs = configs(ARCHITECTURES[0], VARIATIONS[:2])
    together, state, split, index, weights = _population_and_inputs(population_configs)
    state, metrics = together.train_round(state, split, index, weights, np.float32(100.0))
    alone = make_population(program_for(population_configs[1], tiny_dataset()), EarlyStopping())
    hparams = hparam_arrays(population_configs[1:], steps_per_epoch=len(index))
    one = alone.init(hparams, trial_keys(SEED, [1]))  # the config's own trial id
    one, one_metrics = alone.train_round(one, split, index, weights, np.float32(100.0))
    assert jax.tree.leaves(one.train.params)[0].shape[0] == 1
    jax.tree.map(
        lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6),
        select(state.train.params, 1),
        select(one.train.params, 0),
    )
    np.testing.assert_allclose(metrics["loss_sum"][1], one_metrics["loss_sum"][0], rtol=1e-5)
    stopped = alone.stop(one, np.ones(1, bool), np.int32(Status.STOPPED))
    assert int(stopped.life.status[0]) == Status.STOPPED and not bool(stopped.life.active[0])


def test_stop_ends_the_configs_it_names_with_their_best_params_and_compiles_once(
    compile_counter,
):
    """What early_terminate (PRUNED) and the time limit (STOPPED) call: the mask and the
    status are values, so a new mask or status runs the same program."""
    population, state, split, index, weights = _population_and_inputs(
        configs(ARCHITECTURES[0], VARIATIONS[:3])
    )
    best = jax.tree.map(np.asarray, state.life.best_params)  # nothing evaluated: the initial
    state, _ = population.train_round(state, split, index, weights, np.float32(100.0))
    moved = jax.tree.map(np.asarray, state.train.params)
    state = population.stop(state, np.array([False, True, False]), np.int32(Status.PRUNED))
    compiled = len(compile_counter)
    state = population.stop(state, np.array([True, True, False]), np.int32(Status.STOPPED))
    assert len(compile_counter) == compiled
    # the second call leaves config 1, no longer active, as the first one ended it
    assert np.asarray(state.life.status).tolist() == [Status.STOPPED, Status.PRUNED, 0]
    assert np.asarray(state.life.active).tolist() == [False, False, True]
    for k, expected in ((0, best), (1, best), (2, moved)):
        jax.tree.map(
            lambda a, b, k=k: np.testing.assert_array_equal(a[k], b[k]),
            state.train.params,
            expected,
        )
