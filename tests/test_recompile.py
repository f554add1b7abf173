"""Changing any dynamic hyperparameter's value never recompiles the population's programs."""

import functools

import pytest
from support import configs, tiny_dataset
from support import train as train_through

from jaxtune.population.factory import make_population
from jaxtune.population.program import Variant, program_for
from jaxtune.population.status import EarlyStopping
from jaxtune.space import DYNAMIC_NAMES

FIRST = {
    "optimizer": "adam",
    "nesterov": False,
    "learning_rate": 1e-3,
    "beta1": 0.9,
    "beta2": 0.999,
    "momentum": 0.0,
    "rho": 0.9,
    "weight_decay": 0.0,
    "clip_norm": None,
    "dropout": 0.0,
    "recurrent_dropout": 0.0,
    "label_smoothing": 0.0,
    "focal_gamma": 0.0,
    "lr_schedule": "constant",
    "warmup_steps": 0,
    "min_lr_ratio": 0.0,
    "decay_rate": 0.96,
    "decay_steps": 1000,
    "plateau_factor": 0.1,
    "plateau_patience": 2,
    "embedding_trainable": True,
    "epochs": 3,
}
SECOND = {
    "optimizer": "sgd",
    "nesterov": True,
    "learning_rate": 5e-2,
    "beta1": 0.5,
    "beta2": 0.9,
    "momentum": 0.7,
    "rho": 0.5,
    "weight_decay": 1e-2,
    "clip_norm": 0.1,
    "dropout": 0.4,
    "recurrent_dropout": 0.3,
    "label_smoothing": 0.2,
    "focal_gamma": 2.0,
    "lr_schedule": "plateau",
    "warmup_steps": 5,
    "min_lr_ratio": 0.1,
    "decay_rate": 0.5,
    "decay_steps": 10,
    "plateau_factor": 0.5,
    "plateau_patience": 1,
    "embedding_trainable": False,
    "epochs": 7,
}


def test_every_dynamic_hparam_is_covered():
    assert set(FIRST) == set(SECOND) == set(DYNAMIC_NAMES)
    assert all(FIRST[name] != SECOND[name] for name in FIRST)


@pytest.mark.parametrize("architecture", ["gru", "lstm", "cnn", "rnn"])
def test_dynamic_hparam_values_never_recompile(architecture, compile_counter):
    base = {
        "architecture": architecture,
        "hidden_size": 8,
        "embedding_dim": 8,
        "num_filters": 4,
        "filter_sizes": (2,),
        "batch_size": 32,
    }
    # budget.merge all, vmapped: the optimizer kind and nesterov are values of one program
    # too (the union update).
    union = (Variant(32, None),)
    population = make_population(
        program_for(configs(base, [{}])[0], tiny_dataset(), variants=union), EarlyStopping()
    )
    train = functools.partial(train_through, variants=union)
    train(configs(base, [FIRST, SECOND]), epochs=1, population=population)
    compiled = len(compile_counter)
    assert compiled >= 4  # init, train_round, evaluate, after_evaluation: the counter works
    # Swap the values between the slots and change every one of them again.
    mixed = {name: SECOND[name] for name in list(FIRST)[::2]}
    train(configs(base, [SECOND, {**FIRST, **mixed}]), epochs=1, population=population)
    patience = EarlyStopping(patience=2, min_delta=0.5)  # traced: no recompile either
    train(
        configs(base, [{**FIRST, "learning_rate": 0.3}, FIRST]),
        epochs=1,
        population=population,
        early_stopping=patience,
    )
    schedules = [{**FIRST, "lr_schedule": s} for s in ("cosine", "exponential")]
    train(configs(base, schedules), epochs=1, population=population)
    kinds = [{**FIRST, "optimizer": k, "momentum": 0.5} for k in ("rmsprop", "adamw")]
    train(configs(base, kinds), epochs=1, population=population)
    assert len(compile_counter) == compiled
