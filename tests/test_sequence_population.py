"""Tag and ctc populations: a config trained inside a population equals the same config
trained alone, and the per-step models learn what their tasks count."""

import functools

import jax
import numpy as np
import pytest
from support import assert_curves_equal, configs, select, train, train_each_alone

from jaxtune.data.synthetic import SyntheticConfig
from jaxtune.data.synthetic_sequences import make_parity, make_readout
from jaxtune.space import MODEL_SIZES, complete_config

RTOL, ATOL = 1e-5, 1e-6
# CTC's forward-backward sums log-probabilities over alignments in another order when
# vmapped: after 2 epochs a few params differ by ~2e-5 (the curves still agree to 1e-5),
# far below what a slot-dependent key or another config's batch would change.
PARAMS_ATOL = {"tag": ATOL, "ctc": 5e-5}
EPOCHS = 2
SIZES = {"train_size": 96, "val_size": 40, "test_size": 8, "seed": 3}


@functools.lru_cache
def tiny(task: str):
    if task == "tag":
        return make_parity(SyntheticConfig(min_length=4, max_length=12, **SIZES))
    return make_readout(SyntheticConfig(min_length=6, max_length=16, **SIZES))


# Configs that differ in the dynamic hyperparameters a sequence loss reads.
VARIATIONS = [
    {"learning_rate": 3e-3},
    {"learning_rate": 1e-2, "dropout": 0.2, "label_smoothing": 0.1, "clip_norm": 1.0},
    {"learning_rate": 5e-3, "focal_gamma": 2.0, "recurrent_dropout": 0.2, "optimizer": "rmsprop"},
]
BASES = {
    "gru": {"architecture": "gru", "hidden_size": 12, "embedding_dim": 8, "batch_size": 16},
    "lstm-2layer-bidi": {
        "architecture": "lstm",
        "hidden_size": 8,
        "num_layers": 2,
        "bidirectional": True,
        "embedding_dim": 8,
        "batch_size": 16,
    },
}


# Each task on one encoder (the per-step cotangents reach stacked, bidirectional layers
# the same way for both tasks): a GRU tagger, a 2-layer bidirectional LSTM for CTC.
@pytest.mark.parametrize("task, base", [("tag", "gru"), ("ctc", "lstm-2layer-bidi")])
def test_a_sequence_config_in_a_population_equals_it_alone(task, base):
    dataset = tiny(task)
    population_configs = configs(BASES[base], VARIATIONS)
    state, history = train(population_configs, epochs=EPOCHS, dataset=dataset)
    alone = train_each_alone(population_configs, epochs=EPOCHS, dataset=dataset)
    assert_curves_equal(history, alone, epochs=EPOCHS, rtol=RTOL, atol=ATOL)
    for k, (solo_state, _) in enumerate(alone):
        jax.tree.map(
            lambda a, b: np.testing.assert_allclose(a, b, rtol=RTOL, atol=PARAMS_ATOL[task]),
            select(state.train.params, k),
            solo_state.train.params,
        )
    final_losses = history[-1]["train_loss"]
    assert len(set(np.round(final_losses, 6))) == len(population_configs)


def test_each_task_records_its_own_metrics():
    for task, names in (
        ("tag", {"val_token_accuracy", "val_sequence_accuracy", "val_macro_f1"}),
        ("ctc", {"val_char_accuracy", "val_cer", "val_sequence_accuracy"}),
    ):
        _, history = train(configs(BASES["gru"], VARIATIONS[:1]), epochs=1, dataset=tiny(task))
        assert names | {"val_loss", "train_loss", "train_accuracy"} == set(history[0])
        for name in names:
            assert 0.0 <= float(history[0][name][0]) <= 1.0 or name == "val_cer"


def test_a_bidirectional_gru_learns_the_readout_task():
    """CTC trains: a few epochs read most targets exactly (an untrained model emits
    blanks or noise: character accuracy near 0)."""
    dataset = make_readout(SyntheticConfig(train_size=600, val_size=100, test_size=8, seed=1))
    base = {**BASES["gru"], "hidden_size": 32, "bidirectional": True, "learning_rate": 1e-2}
    _, history = train(configs(base, [{}]), epochs=3, dataset=dataset)
    last = history[-1]
    assert last["val_char_accuracy"][0] > 0.9 and last["val_sequence_accuracy"][0] > 0.5
    assert last["train_loss"][0] < history[0]["train_loss"][0]
    assert last["val_cer"][0] == pytest.approx(1 - last["val_char_accuracy"][0], abs=1e-6)


def test_model_size_presets_set_width_and_depth_unless_given():
    for size, (hidden, layers) in MODEL_SIZES.items():
        config = complete_config({"architecture": "lstm", "model_size": size})
        assert (config["hidden_size"], config["num_layers"]) == (hidden, layers)
    given = complete_config({"architecture": "gru", "model_size": "large", "hidden_size": 48})
    assert (given["hidden_size"], given["num_layers"]) == (48, MODEL_SIZES["large"][1])
    layered = complete_config({"architecture": "gru", "model_size": "medium", "num_layers": 3})
    assert (layered["hidden_size"], layered["num_layers"]) == (MODEL_SIZES["medium"][0], 3)
    cnn = complete_config({"architecture": "cnn", "model_size": "large"})
    assert cnn["model_size"] is None  # a CNN has no recurrent width: reset, as hidden_size is
