"""The showcase modules of experiments/custom_model/ in the engine: a config trained in a
population equals it trained alone, their traced attention dropout included, and
changing its value never recompiles."""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np
import pytest
from support import (
    assert_curves_equal,
    configs,
    select,
    tiny_dataset,
    train,
    train_each_alone,
)

from jaxtune.models.user import import_architecture
from jaxtune.population.factory import make_population
from jaxtune.population.program import program_for
from jaxtune.population.status import EarlyStopping

ROOT = Path(__file__).resolve().parents[1]
MODULE = "experiments.custom_model.attention_models"
RTOL, ATOL = 1e-5, 1e-6
EPOCHS = 2
BASES = {
    "TransformerEncoder": {"hidden_size": 8, "num_heads": 2, "ff_size": 16, "num_layers": 2},
    "AttentionBiGRU": {"hidden_size": 8, "attention_size": 8},
}
# Configs that differ in the module's traced hyperparameter and in jaxtune's own.
VARIATIONS = [
    {"attention_dropout": 0.0, "learning_rate": 3e-3},
    {"attention_dropout": 0.3, "learning_rate": 1e-2, "dropout": 0.2},
    {"attention_dropout": 0.6, "learning_rate": 5e-3, "optimizer": "rmsprop"},
]


def architecture(name, monkeypatch) -> str:
    monkeypatch.chdir(ROOT)  # the spec's path is the repository root's
    return import_architecture(f"{MODULE}:{name}").path


def base(name, monkeypatch) -> dict:
    return {
        "architecture": architecture(name, monkeypatch),
        "embedding_dim": 8,
        "batch_size": 32,
        **BASES[name],
    }


@pytest.mark.parametrize("name", list(BASES))
def test_a_showcase_config_in_a_population_equals_it_alone(name, monkeypatch):
    population_configs = configs(base(name, monkeypatch), VARIATIONS)
    state, history = train(population_configs, epochs=EPOCHS)
    alone = train_each_alone(population_configs, epochs=EPOCHS)
    assert_curves_equal(history, alone, epochs=EPOCHS, rtol=RTOL, atol=ATOL, label=f"{name} ")
    for k, (solo_state, _) in enumerate(alone):
        solo = dict(jax.tree_util.tree_leaves_with_path(solo_state.train.params))
        for path, leaf in jax.tree_util.tree_leaves_with_path(select(state.train.params, k)):
            where = jax.tree_util.keystr(path)
            if "['key']['bias']" in where:
                # An attention key bias adds q.b to every key's score alike, which softmax
                # ignores: its gradient is zero in exact arithmetic, and Adam scales the
                # ~1e-9 rounding left of it, which depends on the order of the sums, up to
                # steps the size of the learning rate. It changes no output of the model
                # (the curves above agree).
                continue
            np.testing.assert_allclose(leaf, solo[path], rtol=RTOL, atol=1e-5, err_msg=where)
    # The traced rate acts: the configs' curves all differ.
    assert len(set(np.round(history[-1]["train_loss"], 6))) == len(VARIATIONS)


@pytest.mark.parametrize("name", list(BASES))
def test_attention_dropout_values_never_recompile(name, monkeypatch, compile_counter):
    first = configs(base(name, monkeypatch), VARIATIONS[:2])
    population = make_population(program_for(first[0], tiny_dataset()), EarlyStopping())
    train(first, epochs=1, population=population)
    compiled = len(compile_counter)
    assert compiled >= 4  # init, train_round, evaluate, after_evaluation: the counter works
    changed = [
        {**v, "attention_dropout": r} for v, r in zip(VARIATIONS[:2], (0.45, 0.05), strict=True)
    ]
    train(configs(base(name, monkeypatch), changed), epochs=1, population=population)
    assert len(compile_counter) == compiled
