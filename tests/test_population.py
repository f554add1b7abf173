"""The key property: a config trained inside a population equals the same config trained alone."""

import jax
import numpy as np
import optax
import pytest
from support import configs, select, tiny_dataset, train, train_each_alone

from jaxtune.data.dataset import epoch_batches
from jaxtune.models import EMBEDDING
from jaxtune.population.program import program_for
from jaxtune.population.status import Status
from jaxtune.population.step import to_device, train_step

RTOL, ATOL = 1e-5, 1e-6
EPOCHS = 2

# Four configs that differ in every dynamic hyperparameter the engine knows.
VARIATIONS = [
    {"learning_rate": 1e-3, "dropout": 0.0, "weight_decay": 0.0},
    {
        "learning_rate": 3e-3,
        "dropout": 0.2,
        "weight_decay": 1e-4,
        "recurrent_dropout": 0.1,
        "label_smoothing": 0.1,
        "lr_schedule": "cosine",
        "warmup_steps": 3,
        "decay_steps": 8,
        "min_lr_ratio": 0.1,
    },
    {
        "learning_rate": 5e-3,
        "dropout": 0.5,
        "weight_decay": 1e-3,
        "recurrent_dropout": 0.3,
        "beta1": 0.8,
        "beta2": 0.99,
        "clip_norm": 0.5,
        "focal_gamma": 2.0,
        "lr_schedule": "exponential",
        "decay_rate": 0.5,
        "decay_steps": 4,
    },
    {
        "learning_rate": 2e-3,
        "dropout": 0.1,
        "weight_decay": 0.0,
        "embedding_trainable": False,
        "clip_norm": 5.0,
        "lr_schedule": "plateau",
        "plateau_patience": 1,
        "plateau_factor": 0.5,
    },
]

ARCHITECTURES = [
    {"architecture": "gru", "hidden_size": 12, "embedding_dim": 8, "batch_size": 32},
    {"architecture": "lstm", "hidden_size": 12, "embedding_dim": 8, "batch_size": 32},
    {
        "architecture": "rnn",
        "hidden_size": 12,
        "embedding_dim": 8,
        "batch_size": 32,
        "rnn_activation": "relu",
    },
    {
        "architecture": "cnn",
        "num_filters": 6,
        "filter_sizes": (2, 3),
        "embedding_dim": 8,
        "batch_size": 32,
    },
    {
        "architecture": "gru",
        "hidden_size": 8,
        "embedding_dim": 8,
        "batch_size": 32,
        "num_layers": 2,
        "bidirectional": True,
    },
]


def assert_population_matches_solo(
    population_configs, chunk=None, params_atol=ATOL, embedding_update="dense", devices=None
):
    state, history = train(
        population_configs,
        epochs=EPOCHS,
        chunk=chunk,
        devices=devices,
        embedding_update=embedding_update,
    )
    alone = train_each_alone(population_configs, epochs=EPOCHS, embedding_update=embedding_update)
    for k, (solo_state, solo_history) in enumerate(alone):
        for epoch in range(EPOCHS):
            for metric in ("train_loss", "val_loss", "val_accuracy"):
                np.testing.assert_allclose(
                    history[epoch][metric][k],
                    solo_history[epoch][metric],
                    rtol=RTOL,
                    atol=ATOL,
                    err_msg=f"config {k} epoch {epoch} {metric}",
                )
        jax.tree.map(
            lambda a, b: np.testing.assert_allclose(a, b, rtol=RTOL, atol=params_atol),
            select(state.train.params, k),
            solo_state.train.params,
        )
    # The configs really differ, so equality above is not one curve compared with itself.
    final_losses = history[-1]["train_loss"]
    assert len(set(np.round(final_losses, 6))) == len(population_configs)


@pytest.mark.parametrize(
    "base",
    ARCHITECTURES,
    ids=lambda b: b["architecture"] + ("-2layer-bidi" if b.get("bidirectional") else ""),
)
def test_population_matches_solo_per_architecture(base):
    assert_population_matches_solo(configs(base, VARIATIONS))


@pytest.mark.parametrize(
    "sizes,bidirectional,params_atol",
    [((12, 6), False, ATOL), ((12, 6), True, ATOL), ((128, 64), False, 1e-5)],
    ids=["lstm-12-6", "lstm-12-6-bidi", "lstm-128-64"],
)
def test_stacked_per_layer_sizes_population_matches_solo(sizes, bidirectional, params_atol):
    """A stack of different layer sizes (a 128-unit layer under a 64-unit one) trained in
    a population equals it trained alone, every layer's params included.

    At 128 units the vmapped and single matmuls sum in different orders: after 2 epochs
    params differ by ~5e-6 (curves still agree to 1e-5), so params get atol 1e-5 there,
    far below what a slot-dependent key or a mixed-up layer would change.
    """
    base = {
        "architecture": "lstm",
        "hidden_size": sizes,
        "embedding_dim": 8,
        "batch_size": 32,
        "bidirectional": bidirectional,
    }
    population = configs(base, VARIATIONS)
    assert population[0]["num_layers"] == 2
    assert_population_matches_solo(population, params_atol=params_atol)


@pytest.mark.parametrize("chunk", [1, 3], ids=["chunk1", "chunk3-remainder"])
@pytest.mark.parametrize("base", [ARCHITECTURES[1], ARCHITECTURES[3]], ids=["lstm", "cnn"])
def test_chunked_population_matches_solo(base, chunk):
    """Looping over the population a few configs at a time changes nothing but speed.

    On one device, so that the 4 configs reach the chunk loop together (3 + a remainder)."""
    assert_population_matches_solo(configs(base, VARIATIONS), chunk=chunk, devices=1)


@pytest.mark.parametrize(
    "optimizer,extra",
    [
        ("adamw", {}),
        ("rmsprop", {"momentum": 0.5, "rho": 0.8}),
        ("sgd", {"momentum": 0.9, "nesterov": True}),
        ("sgd", {"momentum": 0.0}),
    ],
)
def test_population_matches_solo_per_optimizer(optimizer, extra):
    base = {**ARCHITECTURES[0], "optimizer": optimizer, **extra}
    variations = [
        {**v, "learning_rate": v["learning_rate"] * (10 if optimizer == "sgd" else 1)}
        for v in VARIATIONS
    ]
    assert_population_matches_solo(configs(base, variations))


def test_frozen_embedding_rows_stay_bit_identical_while_trainable_ones_move():
    population = configs(
        ARCHITECTURES[0],
        [
            {"embedding_trainable": False, "weight_decay": 1e-2, "optimizer": "adamw"},
            {"embedding_trainable": True, "weight_decay": 1e-2, "optimizer": "adamw"},
        ],
    )
    initial, _ = train(population, epochs=0)
    state, _ = train(population, epochs=1)
    before = np.asarray(initial.train.params["embedding"]["embedding"])
    after = np.asarray(state.train.params["embedding"]["embedding"])
    np.testing.assert_array_equal(after[0], before[0])
    assert not np.array_equal(after[1], before[1])
    # The rest of the frozen config still trains.
    assert not np.array_equal(
        np.asarray(initial.train.params["head"]["kernel"][0]),
        np.asarray(state.train.params["head"]["kernel"][0]),
    )


@pytest.mark.parametrize(
    "base",
    [
        # Bounded cells: the loss explodes (hundreds) but stays finite -> the max_loss bound.
        {**ARCHITECTURES[0], "optimizer": "sgd"},
        # ReLU SimpleRNN: activations overflow -> non-finite loss.
        {**ARCHITECTURES[2], "optimizer": "sgd"},
    ],
    ids=["gru-loss-bound", "relu-rnn-nonfinite"],
)
@pytest.mark.parametrize("chunk", [None, 1], ids=["vmap", "chunk1"])
def test_divergent_config_fails_and_its_neighbours_match_solo(base, chunk):
    population = configs(
        {**base, "epochs": EPOCHS},
        [
            {"learning_rate": 0.05},
            {"learning_rate": 1e3},
            {"learning_rate": 0.1},
        ],
    )
    state, history = train(population, epochs=EPOCHS, chunk=chunk)
    status = np.asarray(state.life.status)
    assert status[1] == Status.FAILED
    assert int(state.life.failed_step[1]) >= 0
    assert not bool(state.life.active[1])
    # Frozen at its last good state.
    assert all(np.isfinite(leaf).all() for leaf in jax.tree.leaves(select(state.train.params, 1)))
    alone = train_each_alone(population, epochs=EPOCHS)
    for k in (0, 2):
        assert status[k] == Status.COMPLETED
        for epoch in range(EPOCHS):
            np.testing.assert_allclose(
                history[epoch]["train_loss"][k],
                alone[k][1][epoch]["train_loss"],
                rtol=RTOL,
                atol=ATOL,
            )
        jax.tree.map(
            lambda a, b: np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL),
            select(state.train.params, k),
            alone[k][0].train.params,
        )
    # Alone, the divergent config fails at the same step.
    assert int(alone[1][0].life.status) == Status.FAILED
    assert int(alone[1][0].life.failed_step) == int(state.life.failed_step[1])


@pytest.mark.parametrize(
    "base",
    ARCHITECTURES[:3] + ARCHITECTURES[4:],
    ids=["gru", "lstm", "rnn-relu", "gru-2layer-bidi"],
)
def test_fused_backward_trains_like_autodiff(base):
    """Equal training curves with the hand-written recurrent backward pass and without it."""
    from support import tiny_dataset

    from jaxtune.models import build_classifier
    from jaxtune.population.factory import make_population
    from jaxtune.population.program import Program
    from jaxtune.population.status import EarlyStopping

    population = configs(base, VARIATIONS)
    curves = []
    for fused in (True, False):
        model = build_classifier(
            population[0],
            tiny_dataset().vocab_size,
            tiny_dataset().num_classes,
            fused_backward=fused,
        )
        program = Program(model, "adam")
        curves.append(
            train(population, epochs=EPOCHS, population=make_population(program, EarlyStopping()))
        )
    (fused_state, fused_history), (plain_state, plain_history) = curves
    for epoch in range(EPOCHS):
        for metric in ("train_loss", "val_loss"):
            np.testing.assert_allclose(
                fused_history[epoch][metric], plain_history[epoch][metric], rtol=RTOL, atol=ATOL
            )
    jax.tree.map(
        lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5),
        fused_state.train.params,
        plain_state.train.params,
    )


@pytest.mark.parametrize("chunk", [None, 1], ids=["vmap", "chunk1"])
def test_empty_batches_in_a_block_change_nothing_wherever_they_are(chunk):
    """A length bucket's block is filled with empty batches; the epoch loop stops after the
    block's last real batch, and an empty batch before it is a no-op. Either way the
    population ends bit-identical to training on the real batches alone."""
    from support import SEED, tiny_dataset

    from jaxtune.data.dataset import epoch_batches
    from jaxtune.population.factory import make_population
    from jaxtune.population.hparams import hparam_arrays, trial_keys
    from jaxtune.population.program import program_for
    from jaxtune.population.status import EarlyStopping

    population = configs(ARCHITECTURES[0], VARIATIONS[:2])
    dataset = tiny_dataset()
    index, weights = epoch_batches(len(dataset.train), 32, SEED, 0)  # [S, B]
    empty = np.zeros_like(weights[:1])
    # real, empty, the other real batches, then two empty ones (a bucket's fill).
    filled_index = np.concatenate([index[:1], index[:1], index[1:], index[:2]])
    filled_weights = np.concatenate([weights[:1], empty, weights[1:], empty, empty])
    trainer = make_population(program_for(population[0], dataset), EarlyStopping(), chunk=chunk)
    hparams = hparam_arrays(population, steps_per_epoch=len(index))
    split = to_device(dataset.train)
    ends = []
    for block in ((index, weights), (filled_index, filled_weights)):
        state = trainer.init(hparams, trial_keys(SEED, [0, 1]))
        ends.append(trainer.train_round(state, split, *block, np.float32(np.inf)))
    (real, real_metrics), (filled, filled_metrics) = ends
    assert np.all(np.asarray(filled.train.step) == len(index))
    for part in ("params", "opt_state", "step", "hparams"):
        jax.tree.map(
            np.testing.assert_array_equal, getattr(filled.train, part), getattr(real.train, part)
        )
    jax.tree.map(np.testing.assert_array_equal, filled_metrics, real_metrics)


def test_frozen_table_gets_a_zero_gradient_that_the_clip_norm_does_not_count():
    population = configs(
        ARCHITECTURES[1], [{"embedding_trainable": False}, {"embedding_trainable": True}]
    )
    # One trial id for both: the same initial parameters, so only the flag differs.
    state, _ = train(population, epochs=0, trial_ids=[0, 0])
    data = tiny_dataset()
    program = program_for(population[0], data)
    index, weights = epoch_batches(len(data.train), population[0]["batch_size"], 0, 0)
    batch = to_device(data.train).gather(index[0], weights[0])
    frozen, trainable = (
        train_step(
            program,
            *(
                select(tree, k)
                for tree in (state.train.params, state.train.opt_state, state.train.hparams)
            ),
            jax.random.key(1),
            batch,
            1e-3,
        )
        for k in range(2)
    )
    # Adam's first moment after one step is (1 - beta1) * gradient.
    beta1 = float(state.train.hparams["beta1"][0])
    frozen_mu, trainable_mu = (optax.tree.get(step[1], "mu") for step in (frozen, trainable))
    np.testing.assert_array_equal(np.asarray(frozen_mu[EMBEDDING]["embedding"]), 0.0)
    table_gradient = np.asarray(trainable_mu[EMBEDDING]["embedding"]) / (1 - beta1)
    assert np.abs(table_gradient).max() > 0
    jax.tree.map(
        lambda a, b: np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL),
        {k: v for k, v in frozen_mu.items() if k != EMBEDDING},
        {k: v for k, v in trainable_mu.items() if k != EMBEDDING},
    )
    frozen_norm, trainable_norm = (float(step[2]["grad_norm"]) for step in (frozen, trainable))
    np.testing.assert_allclose(
        frozen_norm**2, trainable_norm**2 - np.sum(table_gradient**2), rtol=1e-4
    )
