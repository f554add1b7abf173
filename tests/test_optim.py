"""optim.py: the union optimizer (budget.merge: all, vmapped) takes each config's kind as
a value, and every kind's trajectory is the plain optax optimizer's on random gradients;
a sweep mixing kinds in one program trains each as its own program does. (A population
mixing kinds with this update equals each config alone: test_merge.py's vmapped test.)"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from support import sweep_each_merge

from jaxtune.optim import build_optimizer, kind_optimizer, optimizer_code

# The tolerance: the union runs optax's own transformations, but XLA fuses the selected
# branches differently from a lone optax chain, so results agree to float32 rounding.
RTOL, ATOL = 1e-5, 1e-6


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
    reference = run(lambda h: kind_optimizer(kind, h, nesterov=nesterov))
    jax.tree.map(
        lambda a, b: np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL), union, reference
    )


def test_a_sweep_with_merge_all_trains_every_kind_in_one_program_as_merge_none_does(tmp_path):

    spec = {
        "name": "merge",
        "seed": 0,
        "method": "grid",
        "metric": {"name": "val_accuracy", "goal": "maximize"},
        "data": {"train_size": 200, "val_size": 64, "test_size": 64, "max_length": 12},
        "model": {"architecture": "gru", "hidden_size": 8, "embedding_dim": 8, "batch_size": 32},
        "train": {"epochs": 2},
        "parameters": {
            "optimizer": {"values": ["adam", "rmsprop", "sgd"]},
            "learning_rate": {"values": [0.003, 0.03]},
        },
    }
    records, _ = sweep_each_merge(tmp_path, spec, ("none", "all"))
    assert len({r["group"] for r in records["none"]}) == 3  # one program per kind
    assert len({r["group"] for r in records["all"]}) == 1  # one program for all six
    for apart, merged in zip(records["none"], records["all"], strict=True):
        assert apart["hparams"] == merged["hparams"]
        for a, b in zip(apart["history"], merged["history"], strict=True):
            np.testing.assert_allclose(a["train_loss"], b["train_loss"], rtol=RTOL, atol=ATOL)
            np.testing.assert_allclose(a["val_loss"], b["val_loss"], rtol=RTOL, atol=ATOL)


def test_budget_merge_takes_auto_none_or_all():
    from jaxtune.spec import SpecError, parse_spec

    assert parse_spec({"budget": {"merge": "all"}}, "s.yaml").budget.merge == "all"
    assert parse_spec({}, "s.yaml").budget.merge == "auto"
    with pytest.raises(SpecError) as error:
        parse_spec({"budget": {"merge": "some"}}, "s.yaml")
    assert str(error.value) == "s.yaml: budget.merge: expected one of auto, none, all, found 'some'"


def test_the_memory_estimate_counts_the_union_state_only_when_merged():
    from jaxtune.memory import estimate_memory
    from jaxtune.space import complete_config

    shapes = {"vocab_size": 1000, "num_classes": 3, "seq_len": 16}
    sgd, adam = (complete_config({"optimizer": kind, "momentum": 0.9}) for kind in ("sgd", "adam"))
    apart = estimate_memory(sgd, **shapes).optimizer_state  # one trace buffer
    merged = estimate_memory(sgd, **shapes, merge="all").optimizer_state  # Adam's two
    assert merged == estimate_memory(adam, **shapes).optimizer_state
    # one params-sized buffer more, and Adam's int32 step count
    assert merged - apart == estimate_memory(sgd, **shapes).params + 4
