"""Helpers shared by tests: a tiny dataset and population / solo training loops."""

from __future__ import annotations

import functools
import os
import subprocess
import sys

import jax
import numpy as np

from jaxtune.data.dataset import epoch_batches, sequential_batches
from jaxtune.data.synthetic import SyntheticConfig, make_synthetic
from jaxtune.engine import program_for
from jaxtune.population import Trainer, hparam_arrays, to_device, trial_keys
from jaxtune.schedulers import EarlyStopping
from jaxtune.space import complete_config

SEED = 0


def run_python(args, *, cwd=None, timeout=300, drop=("XLA_FLAGS",), returncode=0, **env_vars):
    """`python args...` in a subprocess with production compiler flags; it must exit with
    `returncode`.

    The tests' own XLA_FLAGS (-O0, 4 host devices; conftest.py) and any other variables
    in `drop` are removed from its environment, and `env_vars` added.
    """
    env = {k: v for k, v in os.environ.items() if k not in drop} | env_vars
    result = subprocess.run(
        [sys.executable, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == returncode, result.stderr[-3000:]
    return result


@functools.lru_cache
def tiny_dataset():
    return make_synthetic(
        SyntheticConfig(
            train_size=160, val_size=64, test_size=8, min_length=4, max_length=10, seed=3
        )
    )


def configs(base: dict, variations: list[dict]) -> list[dict]:
    return [complete_config({**base, **v}) for v in variations]


def train(
    configs_,
    *,
    epochs,
    population=True,
    trial_ids=None,
    early_stopping=EarlyStopping(),
    dataset=None,
    trainer=None,
    chunk=None,
    devices=None,
    embedding_update="dense",
):
    """Train configs (as one population, or one config alone when population=False).

    Returns (final state, history) where history[e] has [K] (or scalar) arrays
    train_loss, val_loss, val_accuracy for epoch e.
    """
    dataset = dataset or tiny_dataset()
    trial_ids = list(range(len(configs_))) if trial_ids is None else trial_ids
    trainer = trainer or Trainer(
        program_for(configs_[0], dataset, embedding_update=embedding_update),
        early_stopping,
        population=population,
        chunk=chunk,
        devices=devices,
    )
    hparams = hparam_arrays(
        configs_, steps_per_epoch=-(-len(dataset.train) // configs_[0]["batch_size"])
    )
    keys = trial_keys(SEED, trial_ids)
    if not population:
        assert len(configs_) == 1
        hparams = {name: value[0] for name, value in hparams.items()}
        keys = keys[0]
    state = trainer.init(hparams, keys)
    train_split, val_split = to_device(dataset.train), to_device(dataset.val)
    val_batches = sequential_batches(len(dataset.val), 32)
    history = []
    for epoch in range(epochs):
        index, weights = epoch_batches(len(dataset.train), configs_[0]["batch_size"], SEED, epoch)
        state, metrics = trainer.train_epoch(state, train_split, index, weights)
        val = trainer.evaluate(state.params, val_split, *val_batches)
        state = trainer.end_epoch(state, val, *trainer.stopping_args())
        history.append(
            jax.device_get(
                {
                    "train_loss": metrics["loss_sum"] / np.maximum(metrics["count"], 1),
                    "val_loss": val["loss"],
                    "val_accuracy": val["accuracy"],
                    "val_macro_f1": val["macro_f1"],
                }
            )
        )
    return state, history


def train_each_alone(configs_, *, epochs, early_stopping=EarlyStopping(), embedding_update="dense"):
    """Each config trained by itself (unvmapped program), with its population trial id."""
    program = program_for(configs_[0], tiny_dataset(), embedding_update=embedding_update)
    trainer = Trainer(program, early_stopping, population=False)
    return [
        train(
            [c],
            epochs=epochs,
            population=False,
            trial_ids=[k],
            trainer=trainer,
            early_stopping=early_stopping,
        )
        for k, c in enumerate(configs_)
    ]


def select(tree, k):
    return jax.tree.map(lambda leaf: leaf[k], tree)


# docs.wandb.ai, "Define a sweep configuration": the YAML example, verbatim.
WANDB_DOCS_SWEEP = """\
program: train.py
name: sweepdemo
method: bayes
metric:
  goal: minimize
  name: validation_loss
parameters:
  learning_rate:
    min: 0.0001
    max: 0.1
  batch_size:
    values: [16, 32, 64]
  epochs:
    values: [5, 10, 15]
  optimizer:
    values: ["adam", "sgd"]
"""
