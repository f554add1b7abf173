"""`train.embedding_update: lazy`: only the batch's rows of the table and its moments move."""

import functools
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import yaml
from support import configs
from test_population import ARCHITECTURES, VARIATIONS, assert_population_matches_solo
from typer.testing import CliRunner

from jaxtune.cli import app
from jaxtune.embedding_rows import gather_rows, under_table
from jaxtune.memory import estimate_memory
from jaxtune.models import build_classifier
from jaxtune.plan import Shapes, plan_populations
from jaxtune.population.factory import make_population
from jaxtune.population.hparams import hparam_arrays
from jaxtune.population.program import Program
from jaxtune.population.status import EarlyStopping
from jaxtune.population.step import DeviceSplit, init_state
from jaxtune.search.samplers import Trial
from jaxtune.space import complete_config
from jaxtune.spec import SpecError, parse_spec

VOCAB = 20


@pytest.mark.parametrize("chunk", [None, 1], ids=["vmap", "chunk1"])
@pytest.mark.parametrize("base", [ARCHITECTURES[1], ARCHITECTURES[3]], ids=["lstm", "cnn"])
def test_lazy_population_matches_solo(base, chunk):
    # VARIATIONS include weight decay, clipping and a frozen table.
    assert_population_matches_solo(configs(base, VARIATIONS), chunk=chunk, embedding_update="lazy")


def _steps(update: str, batches, optimizer="adam", **hparams):
    """One config's training state (on the host) after each step on `batches` (token arrays
    [B, T]), trained alone: a population of width 1."""
    config = complete_config(
        {"architecture": "gru", "hidden_size": 6, "embedding_dim": 4, "optimizer": optimizer}
    )
    program = Program(build_classifier(config, VOCAB, 3), optimizer, embedding_update=update)
    alone = make_population(program, EarlyStopping(), devices=1)
    arrays = hparam_arrays([{**config, **hparams}], steps_per_epoch=len(batches))
    state = alone.init(arrays, jax.random.key(1)[None])
    states = []
    for tokens in batches:
        rows = tokens.shape[0]
        split = DeviceSplit(
            tokens=jnp.asarray(tokens, jnp.int32),
            lengths=jnp.full((rows,), tokens.shape[1], jnp.int32),
            labels=jnp.arange(rows, dtype=jnp.int32) % 3,
        )
        index = np.arange(rows, dtype=np.int32)[None]
        state, _ = alone.train_round(
            state, split, index, np.ones(index.shape, np.float32), np.float32(np.inf)
        )
        states.append(jax.tree.map(lambda leaf: leaf[0], jax.device_get(state.train)))
    return states


EVERY_ROW = np.arange(40).reshape(4, 10) % VOCAB  # every id 0..19 in the batch
WITHOUT_7 = np.where(EVERY_ROW == 7, 8, EVERY_ROW)


@pytest.mark.parametrize(
    "optimizer,hparams",
    [("adam", {}), ("adamw", {"weight_decay": 1e-2}), ("sgd", {"momentum": 0.9})],
)
def test_lazy_equals_dense_when_every_row_is_in_every_batch(optimizer, hparams):
    batches = [EVERY_ROW, np.roll(EVERY_ROW, 3), EVERY_ROW[::-1]]
    dense = _steps("dense", batches, optimizer, **hparams)[-1]
    lazy = _steps("lazy", batches, optimizer, **hparams)[-1]
    jax.tree.map(
        lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7),
        (lazy.params, lazy.opt_state),
        (dense.params, dense.opt_state),
    )


def _table_and_moments(state):
    mu = state.opt_state[-1][0].mu["embedding"]["embedding"]  # chain(clip, decay, adam)
    nu = state.opt_state[-1][0].nu["embedding"]["embedding"]
    return [np.asarray(x) for x in (state.params["embedding"]["embedding"], mu, nu)]


def test_lazy_leaves_absent_rows_exactly_and_moves_present_ones():
    for update in ("dense", "lazy"):
        first, second = (_table_and_moments(s) for s in _steps(update, [EVERY_ROW, WITHOUT_7]))
        for before, after in zip(first, second, strict=True):
            # Row 8 is in both batches: it moves under either update.
            assert not np.array_equal(before[8], after[8])
            if update == "lazy":
                np.testing.assert_array_equal(after[7], before[7])
            else:  # Adam still moves row 7 by its momentum and decays its moments.
                assert not np.array_equal(after[7], before[7])


@pytest.mark.parametrize("optimizer", ["adam", "sgd", "rmsprop"])
def test_memory_estimate_counts_the_row_views_the_lazy_step_gathers(optimizer):
    config = complete_config(
        {"architecture": "gru", "hidden_size": 6, "embedding_dim": 4, "optimizer": optimizer}
    )
    vocab, seq_len = 2000, 7
    program = Program(build_classifier(config, vocab, 3), optimizer, embedding_update="lazy")
    arrays = hparam_arrays([{**config, "momentum": 0.9}], steps_per_epoch=1)
    state = jax.eval_shape(
        functools.partial(init_state, program),
        {name: value[0] for name, value in arrays.items()},
        jax.random.key(0),
    )
    rows = jax.ShapeDtypeStruct((config["batch_size"] * seq_len,), jnp.int32)
    view = jax.eval_shape(gather_rows, (state.train.params, state.train.opt_state), rows)
    gathered = sum(
        leaf.size * leaf.dtype.itemsize
        for path, leaf in jax.tree_util.tree_leaves_with_path(view)
        if under_table(path)
    )
    shapes = {"vocab_size": vocab, "num_classes": 3, "seq_len": seq_len}
    dense = estimate_memory(config, **shapes)
    lazy = estimate_memory(config, **shapes, embedding_update="lazy")
    assert lazy.row_views == gathered and dense.row_views == 0
    assert lazy.persistent == dense.persistent
    assert lazy.per_step == lazy.step_transient + lazy.activations + gathered
    table = vocab * config["embedding_dim"] * 4
    rows_bytes = rows.shape[0] * config["embedding_dim"] * 4
    assert dense.step_transient - lazy.step_transient == 2 * (table - rows_bytes)
    plans = plan_populations(
        [Trial(0, config)], 8, shapes=Shapes(**shapes), embedding_update="lazy"
    )
    assert plans[0].estimate == lazy


def test_spec_takes_embedding_update_and_names_the_allowed_values():
    assert parse_spec({"train": {"embedding_update": "lazy"}}).train.embedding_update == "lazy"
    assert parse_spec({}).train.embedding_update == "dense"
    with pytest.raises(SpecError) as error:
        parse_spec({"train": {"embedding_update": "sparse"}}, "s.yaml")
    assert str(error.value) == (
        "s.yaml: train.embedding_update: expected one of dense, lazy, found 'sparse'"
    )


def test_a_sweep_spec_with_lazy_updates_trains_differently_from_dense(tmp_path):
    """The spec key reaches the training step: lazy and dense sweeps of one spec differ."""
    histories = {}
    for update in ("dense", "lazy"):
        spec = tmp_path / f"{update}.yaml"
        spec.write_text(
            yaml.safe_dump(
                {
                    "name": update,
                    "data": {"train_size": 160, "val_size": 32, "test_size": 16},
                    "model": {"architecture": "gru", "hidden_size": 8, "embedding_dim": 8},
                    "train": {"epochs": 2, "embedding_update": update},
                    "parameters": {"learning_rate": {"values": [0.01]}},
                }
            )
        )
        out = tmp_path / update
        result = CliRunner().invoke(app, ["sweep", str(spec), "--out", str(out)])
        assert result.exit_code == 0, result.output
        [record] = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
        assert record["status"] == "completed"
        histories[update] = [epoch["train_loss"] for epoch in record["history"]]
    # Step 1 is the same (no row has momentum yet); later steps move absent rows only densely.
    assert histories["lazy"] != histories["dense"]
