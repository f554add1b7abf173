"""Learning-rate schedules against hand computations (reduce-on-plateau: test_schedulers)."""

import math

import jax.numpy as jnp
import pytest

from jaxtune.population.hparams import hparam_arrays
from jaxtune.schedules import learning_rate
from jaxtune.space import complete_config


def rate(step, scale=1.0, **values):
    arrays = hparam_arrays([complete_config({"learning_rate": 0.1, **values})], steps_per_epoch=10)
    hparams = {name: jnp.asarray(value[0]) for name, value in arrays.items()}
    return float(learning_rate(hparams, jnp.int32(step), jnp.float32(scale)))


def test_constant_with_linear_warmup():
    assert rate(0) == pytest.approx(0.1)
    assert rate(0, warmup_steps=4) == pytest.approx(0.1 * 1 / 4)
    assert rate(2, warmup_steps=4) == pytest.approx(0.1 * 3 / 4)
    assert rate(3, warmup_steps=4) == pytest.approx(0.1)
    assert rate(500, warmup_steps=4) == pytest.approx(0.1)
    assert rate(7, scale=0.25) == pytest.approx(0.025)


def test_cosine_spans_the_run_after_the_warmup():
    # epochs 5 x 10 steps per epoch = 50 steps; warmup 10; cosine over the other 40.
    values = {"lr_schedule": "cosine", "epochs": 5, "warmup_steps": 10, "min_lr_ratio": 0.1}
    assert rate(9, **values) == pytest.approx(0.1)  # the warmup's last step
    assert rate(10, **values) == pytest.approx(0.1)  # the cosine's first step
    middle = 0.1 * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5)))
    assert rate(30, **values) == pytest.approx(middle)
    assert rate(50, **values) == pytest.approx(0.1 * 0.1)
    assert rate(80, **values) == pytest.approx(0.1 * 0.1)  # stays at the floor


def test_exponential_decay():
    values = {"lr_schedule": "exponential", "decay_rate": 0.5, "decay_steps": 4}
    assert rate(0, **values) == pytest.approx(0.1)
    assert rate(4, **values) == pytest.approx(0.05)
    assert rate(6, **values) == pytest.approx(0.1 * 0.5**1.5)
