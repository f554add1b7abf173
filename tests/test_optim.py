"""optim.py: the union optimizer takes each config's kind as a value, and every kind's
trajectory is the plain optax optimizer's: alone on random gradients, and inside a
population that mixes the kinds (compared with each config trained alone by optax)."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from support import configs, select, tiny_dataset, train
from test_population import ARCHITECTURES

from jaxtune.engine import program_for
from jaxtune.optim import OPTIMIZERS, build_optimizer, optimizer_code
from jaxtune.population.factory import make_population
from jaxtune.population.status import EarlyStopping
from jaxtune.population.step import Program

# The tolerance: the union runs optax's own transformations, but XLA fuses the selected
# branches differently from a lone optax chain, so results agree to float32 rounding.
RTOL, ATOL = 1e-5, 1e-6


def plain_optax(kind: str, hparams, nesterov: bool):
    """The config's optimizer as optax ships it (kind and nesterov static)."""
    lr, weight_decay = hparams["learning_rate"], hparams["weight_decay"]
    clip = optax.clip_by_global_norm(hparams["clip_norm"])
    if kind == "adamw":
        b1, b2 = hparams["beta1"], hparams["beta2"]
        return optax.chain(
            clip, optax.adamw(lr, b1=b1, b2=b2, weight_decay=weight_decay, nesterov=nesterov)
        )
    if kind == "adam":
        base = optax.adam(lr, b1=hparams["beta1"], b2=hparams["beta2"], nesterov=nesterov)
    elif kind == "rmsprop":
        momentum = hparams["momentum"]
        base = optax.rmsprop(lr, decay=hparams["rho"], momentum=momentum, nesterov=nesterov)
    else:
        base = optax.sgd(lr, momentum=hparams["momentum"], nesterov=nesterov)
    return optax.chain(clip, optax.add_decayed_weights(weight_decay), base)


CASES = [
    ("adam", False, {}),
    ("adam", True, {"weight_decay": 1e-2}),
    ("adamw", False, {"weight_decay": 5e-2}),
    ("adamw", True, {"weight_decay": 5e-2, "clip_norm": 0.5}),
    ("rmsprop", False, {"momentum": 0.0}),
    ("rmsprop", True, {"momentum": 0.7, "weight_decay": 1e-3}),
    ("sgd", False, {"momentum": 0.0}),
    ("sgd", True, {"momentum": 0.9, "clip_norm": 0.5}),
]


def numbers(kind, nesterov, extra):
    values = {
        "learning_rate": 0.05, "beta1": 0.8, "beta2": 0.95, "momentum": 0.5, "rho": 0.85,
        "weight_decay": 0.0, "clip_norm": np.inf, **extra,
    }  # fmt: skip
    hparams = {name: jnp.float32(v) for name, v in values.items()}
    return hparams | {"optimizer": jnp.int32(optimizer_code(kind)), "nesterov": jnp.bool_(nesterov)}


@pytest.mark.parametrize("kind,nesterov,extra", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_each_kind_follows_the_plain_optax_optimizer(kind, nesterov, extra):
    hparams = numbers(kind, nesterov, extra)
    keys = jax.random.split(jax.random.key(0), 8)
    params = {"w": jax.random.normal(keys[0], (5, 3)), "b": jax.random.normal(keys[1], (3,))}

    def run(make):
        @jax.jit
        def step(params, state, grads, rate):
            updates, state = make({**hparams, "learning_rate": rate}).update(grads, state, params)
            return optax.apply_updates(params, updates), state

        state = make(hparams).init(params)
        out = params
        for t, key in enumerate(keys[2:]):  # a changing rate, as a schedule gives
            grads = jax.tree.map(lambda p, key=key: jax.random.normal(key, p.shape), out)
            out, state = step(out, state, grads, jnp.float32(0.05 / (1 + t)))
        return out

    union = run(build_optimizer)
    reference = run(lambda h: plain_optax(kind, h, nesterov))
    jax.tree.map(
        lambda a, b: np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL), union, reference
    )


@dataclasses.dataclass(frozen=True)
class PlainOptaxProgram(Program):
    """A program whose configs all train with one plain optax optimizer."""

    kind: str = "adam"
    nesterov: bool = False

    def optimizer_for(self, hparams):
        return plain_optax(self.kind, hparams, self.nesterov)


MIXED = [
    {"optimizer": "adam", "learning_rate": 3e-3},
    {"optimizer": "adamw", "learning_rate": 3e-3, "weight_decay": 1e-2, "nesterov": True},
    {"optimizer": "rmsprop", "learning_rate": 1e-3, "momentum": 0.5, "nesterov": True},
    {"optimizer": "sgd", "learning_rate": 0.1, "momentum": 0.9},
    {"optimizer": "sgd", "learning_rate": 0.2, "weight_decay": 1e-3},
]


@pytest.mark.parametrize("base", ARCHITECTURES[:4], ids=lambda b: b["architecture"])
def test_a_population_mixing_kinds_equals_each_config_trained_alone_by_optax(base):
    population = configs(base, MIXED)
    assert len({c["optimizer"] for c in population}) == len(OPTIMIZERS)
    state, history = train(population, epochs=2)
    for k, config in enumerate(population):
        plain = PlainOptaxProgram(
            model=program_for(config, tiny_dataset()).model,
            kind=config["optimizer"],
            nesterov=config["nesterov"],
        )
        alone, alone_history = train(
            [config], epochs=2, trial_ids=[k], population=make_population(plain, EarlyStopping())
        )
        for epoch in range(2):
            np.testing.assert_allclose(
                history[epoch]["train_loss"][k], alone_history[epoch]["train_loss"][0],
                rtol=RTOL, atol=ATOL, err_msg=f"config {k} epoch {epoch}",
            )  # fmt: skip
        jax.tree.map(
            lambda a, b: np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL),
            select(state.train.params, k),
            select(alone.train.params, 0),
        )
    # The kinds really trained differently.
    assert len(set(np.round(history[-1]["train_loss"], 6))) == len(population)
