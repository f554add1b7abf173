"""The lifecycle after each evaluation (population/lifecycle.py): the right config stops at
the right epoch with its best params; plateau cuts; completion and failure."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from support import configs, select, tiny_dataset, train, train_each_alone

from jaxtune.population.lifecycle import after_evaluation
from jaxtune.population.state import initial_state
from jaxtune.population.status import EarlyStopping, Status
from jaxtune.schedules import schedule_code


def fake_state(epochs=100, **hparams):
    """A one-config state; hparams: lr_schedule (a name) and plateau settings."""
    schedule = schedule_code(hparams.pop("lr_schedule", "constant"))
    return initial_state(
        params={"w": jnp.zeros(2)},
        opt_state=(),
        hparams={
            "epochs": jnp.int32(epochs),
            "total_steps": jnp.float32(epochs),  # one step per epoch: run_sequence
            "lr_schedule": jnp.int32(schedule),
            "plateau_patience": jnp.float32(hparams.pop("plateau_patience", 2)),
            "plateau_factor": jnp.float32(hparams.pop("plateau_factor", 0.1)),
            "learning_rate": jnp.float32(0.1),
            "warmup_steps": jnp.float32(0.0),
            "min_lr_ratio": jnp.float32(0.0),
            "decay_rate": jnp.float32(0.96),
            "decay_steps": jnp.float32(1000.0),
        },
        key=jax.random.key(0),
    )


def run_sequence(
    values, *, monitor="val_loss", patience=2.0, min_delta=0.0, epochs=100, restore_best=True
):
    """Feed one metric value per epoch of one step; params at epoch e are [e, e]."""
    state = fake_state(epochs)
    for epoch, value in enumerate(values, start=1):
        train = state.train.replace(params={"w": jnp.full(2, float(epoch))}, step=jnp.int32(epoch))
        state = state.replace(train=train)
        metrics = {
            "loss": jnp.float32(value if monitor == "val_loss" else 1.0),
            "accuracy": jnp.float32(value),
            "macro_f1": jnp.float32(value),
        }
        state, _ = after_evaluation(
            state,
            metrics,
            jnp.float32(patience),
            jnp.float32(min_delta),
            monitor=monitor,
            restore_best=restore_best,
        )
        if not state.life.active:
            break
    return state


def test_stops_after_patience_epochs_without_improvement_and_restores_best():
    state = run_sequence([1.0, 0.8, 0.9, 0.85, 0.7, 0.6], patience=2)
    assert int(state.life.status) == Status.STOPPED
    assert int(state.life.epoch) == 4  # epochs 3 and 4 did not beat epoch 2
    assert int(state.life.best_epoch) == 2
    np.testing.assert_array_equal(state.train.params["w"], [2.0, 2.0])


def test_min_delta_requires_a_real_improvement():
    # 0.79 improves on 0.8 by less than min_delta 0.05: not an improvement.
    state = run_sequence([0.8, 0.79, 0.78, 0.5], patience=2, min_delta=0.05)
    assert int(state.life.status) == Status.STOPPED and int(state.life.epoch) == 3
    assert int(state.life.best_epoch) == 1


def test_maximized_monitor_and_no_restore():
    state = run_sequence(
        [0.5, 0.7, 0.6, 0.65], monitor="val_accuracy", patience=2, restore_best=False
    )
    assert int(state.life.status) == Status.STOPPED and int(state.life.best_epoch) == 2
    np.testing.assert_array_equal(state.train.params["w"], [4.0, 4.0])  # last params kept
    np.testing.assert_array_equal(state.life.best_params["w"], [2.0, 2.0])


def test_completes_after_its_epochs_and_non_finite_validation_fails():
    state = run_sequence([1.0, 0.9, 0.8], patience=np.inf, epochs=3)
    assert int(state.life.status) == Status.COMPLETED and int(state.life.epoch) == 3
    state = run_sequence([1.0, np.nan, 0.5], patience=np.inf)
    assert int(state.life.status) == Status.FAILED and int(state.life.epoch) == 2


BASE = {"architecture": "gru", "hidden_size": 12, "embedding_dim": 8, "batch_size": 16, "epochs": 6}


def test_early_stopping_in_a_population_stops_the_right_config_at_the_right_epoch():
    stopping = EarlyStopping(monitor="val_loss", patience=1)
    # A steady learner that keeps improving on this tiny data and an unstable one that
    # overshoots: with patience 1 only the second is expected to stop early.
    population = configs(BASE, [{"learning_rate": 3e-3}, {"learning_rate": 0.3}])
    state, history = train(population, epochs=6, early_stopping=stopping)
    status = np.asarray(state.life.status)
    stopped = [k for k in range(2) if status[k] == Status.STOPPED]
    assert stopped, "no config stopped: the test would prove nothing"
    # Replay each config's own validation curve through the rule and compare.
    for k in range(2):
        curve = [float(h["val_loss"][k]) for h in history]
        best, best_epoch, expected_stop = np.inf, 0, None
        for epoch, value in enumerate(curve, start=1):
            if value < best:
                best, best_epoch = value, epoch
            elif epoch - best_epoch >= 1:
                expected_stop = epoch
                break
        if expected_stop is None:
            assert status[k] == Status.COMPLETED
        else:
            assert status[k] == Status.STOPPED
            assert int(state.life.epoch[k]) == expected_stop
        assert int(state.life.best_epoch[k]) == best_epoch
        # Restored params are those of the best epoch: the same population trained without
        # stopping for exactly that many epochs (same program, so bit-identical).
        reference, _ = train(
            population, epochs=best_epoch, early_stopping=EarlyStopping(monitor="val_loss")
        )
        jax.tree.map(
            np.testing.assert_array_equal,
            select(state.train.params, k),
            select(reference.train.params, k),
        )


@pytest.mark.parametrize("chunk", [None, 1], ids=["vmap", "chunk1"])
def test_early_stopping_population_matches_each_config_alone(chunk):
    """With chunk 1 a stopped config's chunk is skipped inside the step (chunks.py)."""
    stopping = EarlyStopping(monitor="val_accuracy", patience=1, min_delta=0.01)
    # Moderate learning rates: a chaotic config (lr 0.3) amplifies float differences
    # between the vmapped and the solo program until a discrete accuracy flips.
    population = configs(
        BASE, [{"learning_rate": 1e-3}, {"learning_rate": 1e-2}, {"learning_rate": 3e-2}]
    )
    state, _ = train(population, epochs=6, early_stopping=stopping, chunk=chunk)
    assert (np.asarray(state.life.status) == Status.STOPPED).any()
    for k, (solo_state, _) in enumerate(
        train_each_alone(population, epochs=6, early_stopping=stopping)
    ):
        assert int(solo_state.life.status) == int(state.life.status[k])
        assert int(solo_state.life.epoch) == int(state.life.epoch[k])
        assert int(solo_state.life.best_epoch) == int(state.life.best_epoch[k])
        jax.tree.map(
            lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6),
            select(state.train.params, k),
            solo_state.train.params,
        )


@pytest.mark.parametrize("patience", [None, 3])
def test_patience_and_min_delta_values_never_recompile(patience, compile_counter):
    """Counted as XLA compilations: the population is split over 2 of conftest's devices,
    where jit's dispatch cache may hold a second entry for one compiled program."""
    from jaxtune.population.factory import make_population
    from jaxtune.population.program import program_for

    population = make_population(
        program_for(configs(BASE, [{}])[0], tiny_dataset()), EarlyStopping()
    )
    train(configs(BASE, [{}, {}]), epochs=1, population=population)
    compiled = len(compile_counter)
    assert compiled >= 4  # init, train_round, evaluate, after_evaluation: the counter works
    stopping = EarlyStopping(patience=patience, min_delta=0.1)
    train(configs(BASE, [{}, {}]), epochs=1, population=population, early_stopping=stopping)
    assert len(compile_counter) == compiled


def test_reduce_on_plateau_cuts_after_patience_and_only_for_plateau_configs():
    losses = [1.0, 0.9, 0.95, 0.93, 0.97, 0.8, 0.85, 0.86]
    scales = {}
    for schedule in ("plateau", "constant"):
        state = fake_state(lr_schedule=schedule, plateau_patience=2, plateau_factor=0.5)
        seen = []
        for loss in losses:
            metrics = {"loss": jnp.float32(loss), "accuracy": 0.0, "macro_f1": 0.0}
            state, rate = after_evaluation(
                state,
                metrics,
                jnp.float32(np.inf),
                jnp.float32(0.0),
                monitor="val_loss",
                restore_best=True,
            )
            seen.append(float(state.train.lr_scale))
            # The rate the next step uses (the engine's history) carries the cut.
            assert float(rate) == pytest.approx(0.1 * seen[-1])
        scales[schedule] = seen
    # Best 0.9 at epoch 2; epochs 3-4 do not improve -> cut; 0.8 at 6; 7-8 -> cut again.
    assert scales["plateau"] == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25]
    assert scales["constant"] == [1.0] * len(losses)
