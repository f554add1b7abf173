"""The example attention encoders keep jaxtune's user-module contract: padding never
changes features, the dropout rate is traced, a vmapped population equals each config
alone, and a length-0 row stays finite."""

import collections
import functools
import importlib.util
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

# experiments/ is not a package: load the file by path, under a name of its own.
PATH = Path(__file__).resolve().parents[1] / "experiments" / "custom_model" / "attention_models.py"
SPEC = importlib.util.spec_from_file_location("custom_model_attention_models", PATH)
attention_models = importlib.util.module_from_spec(SPEC)
sys.modules[SPEC.name] = attention_models
SPEC.loader.exec_module(attention_models)

B, T, E = 3, 7, 8
LENGTHS = np.array([7, 4, 1], np.int32)
MODELS = {
    "transformer_mean": attention_models.TransformerEncoder(
        hidden_size=16, num_heads=2, ff_size=16, pooling="mean", max_positions=16
    ),
    "transformer_cls": attention_models.TransformerEncoder(
        hidden_size=8, num_heads=2, num_layers=2, ff_size=8, pooling="cls", max_positions=16
    ),
    "bigru": attention_models.AttentionBiGRU(hidden_size=8, attention_size=8),
}
NAMES = list(MODELS)


def tokens(seed, num_steps=T):
    """Random embeddings: [B, num_steps, E] float32 (numpy: no compile to make them)."""
    return np.random.default_rng(seed).normal(size=(B, num_steps, E)).astype(np.float32)


def hparams(rate):
    return {"attention_dropout": jnp.float32(rate)}


@functools.cache
def random_params(name, seed):
    """The model's variables with every value random, biases and norms too: the tree from
    jax.eval_shape, filled on the host (flax's init would compile a program per model)."""
    shapes = jax.eval_shape(MODELS[name].init, jax.random.key(0), tokens(0), LENGTHS, hparams(0.1))
    rng = np.random.default_rng(seed)
    return jax.tree.map(lambda s: 0.5 * rng.normal(size=s.shape).astype(np.float32), shapes)


@functools.cache
def evaluate(name):
    """jit(params, xs, lengths) -> features [B, D] with train=False, one per model."""
    model = MODELS[name]
    return jax.jit(lambda params, xs, lengths: model.apply(params, xs, lengths, hparams(0.3)))


TRACES = collections.Counter()  # model name -> times train(name) was traced


@functools.cache
def train(name):
    """jit(params, xs, lengths, rate, key) -> features [B, D] with train=True."""
    model = MODELS[name]

    def features(params, xs, lengths, rate, key):
        TRACES[name] += 1
        return model.apply(params, xs, lengths, hparams(rate), key=key, train=True)

    return jax.jit(features)


@pytest.mark.parametrize("name", NAMES)
def test_padding_steps_change_no_output(name):
    xs = tokens(1)  # [B, T, E]: steps past each length already hold random embeddings
    padded = np.concatenate([xs, tokens(2, num_steps=3)], axis=1)  # [B, T + 3, E]
    # Other garbage at every padding step, those inside the first T steps too.
    valid = np.arange(T + 3)[None, :, None] < LENGTHS[:, None, None]  # [B, T + 3, 1]
    padded = np.where(valid, padded, 100.0 * tokens(3, num_steps=T + 3))  # [B, T + 3, E]
    params = random_params(name, 0)
    short = evaluate(name)(params, xs, LENGTHS)  # [B, D]
    long = evaluate(name)(params, padded, LENGTHS)  # [B, D]
    np.testing.assert_allclose(short, long, atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", NAMES)
def test_dropout_rate_is_traced(name):
    params, xs, lengths, key, zero, half = jax.device_put(
        (
            random_params(name, 0),
            tokens(1),
            LENGTHS,
            jax.random.key(4),
            np.float32(0),
            np.float32(0.5),
        )
    )
    with jax.transfer_guard("disallow"):
        off = train(name)(params, xs, lengths, zero, key)  # [B, D]
        traced = TRACES[name]  # 1, or 0 more if another test traced it first
        on = train(name)(params, xs, lengths, half, key)  # [B, D]
    assert TRACES[name] == traced
    assert not np.allclose(off, on, atol=1e-3)
    # Rate 0 is an exact identity: training then equals evaluation.
    np.testing.assert_allclose(off, evaluate(name)(params, xs, lengths), atol=1e-6, rtol=0)


@pytest.mark.parametrize("name", NAMES)
def test_population_matches_solo(name):
    xs = tokens(1)
    solo_params = [random_params(name, seed) for seed in (0, 1)]
    params = jax.tree.map(lambda *p: np.stack(p), *solo_params)  # each leaf [K, ...]
    rates = np.array([0.1, 0.4], np.float32)  # [K]
    keys = [jax.random.key(5), jax.random.key(6)]
    population = jax.jit(jax.vmap(train(name), in_axes=(0, None, None, 0, 0)))(
        params, xs, LENGTHS, rates, jnp.stack(keys)
    )  # [K, B, D]
    population = np.asarray(population)
    for k in range(2):
        alone = train(name)(solo_params[k], xs, LENGTHS, rates[k], keys[k])  # [B, D]
        np.testing.assert_allclose(population[k], alone, atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", NAMES)
def test_length_zero_row_is_finite(name):
    lengths = np.array([5, 0, 2], np.int32)
    xs = tokens(1)
    params = random_params(name, 0)
    assert np.isfinite(evaluate(name)(params, xs, lengths)).all()
    assert np.isfinite(train(name)(params, xs, lengths, np.float32(0.5), jax.random.key(6))).all()
    # A fully masked softmax must not give NaN gradients either (they would reach the
    # shared weights). Dropout adds no division by zero: evaluation mode covers it.
    grads = jax.jit(jax.grad(lambda p: evaluate(name)(p, xs, lengths).sum()))(params)
    assert all(np.isfinite(g).all() for g in jax.tree.leaves(grads))


@pytest.mark.parametrize(
    "fields,message",
    [
        ({"hidden_size": 10, "num_heads": 4}, "hidden_size=10"),
        ({"pooling": "max"}, "pooling='max'"),
        ({"pooling": "cls", "max_positions": T}, "max_positions=7"),  # T + 1 steps with CLS
        ({"pooling": "mean", "max_positions": T - 1}, "max_positions=6"),
    ],
)
def test_transformer_rejects_bad_fields(fields, message):
    model = attention_models.TransformerEncoder(**{"hidden_size": 8, "num_heads": 2, **fields})
    with pytest.raises(ValueError, match=message):
        jax.eval_shape(model.init, jax.random.key(0), tokens(0), LENGTHS, hparams(0.1))
