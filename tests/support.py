"""Helpers shared by tests: a tiny dataset, and training through the engine's round."""

from __future__ import annotations

import functools
import os
import subprocess
import sys

import jax
import numpy as np

from jaxtune.data.bucketing import Block
from jaxtune.data.synthetic import SyntheticConfig, make_synthetic
from jaxtune.engine import Engine
from jaxtune.population.factory import make_population
from jaxtune.population.hparams import hparam_arrays, trial_keys
from jaxtune.population.program import program_for
from jaxtune.population.status import EarlyStopping
from jaxtune.rounds import Stream, steps_per_epoch
from jaxtune.space import complete_config
from jaxtune.tasks import task_of

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


def text_examples(dataset, split):
    """A split as (texts, label names): what `jaxtune.TextData` takes."""
    texts = [dataset.decode(t, n) for t, n in zip(split.tokens, split.lengths, strict=True)]
    return texts, [dataset.label_names[label] for label in split.labels]


def configs(base: dict, variations: list[dict]) -> list[dict]:
    return [complete_config({**base, **v}) for v in variations]


def train(
    configs_,
    *,
    epochs,
    trial_ids=None,
    early_stopping=EarlyStopping(),
    dataset=None,
    population=None,
    chunk=None,
    devices=None,
    embedding_update="dense",
    variants=(),
    regroup=1,
):
    """Train configs as one population for `epochs` rounds of one epoch each, through the
    engine's own round (`Engine.train_round`: the steps, the evaluation, the lifecycle).

    Returns (final state, history) where history[e] has [K] arrays train_loss, val_loss,
    val_accuracy and val_macro_f1 for epoch e. `population`: a Population to reuse (its
    compiled functions), else the engine makes one; `variants`: the merged program's
    (merge.py), its stream cut at the smallest batch size. `regroup` r trains on the
    stream of a population whose smallest batch size is 1/r of the configs' (`r`
    consecutive minibatches per step): a config alone, on a merged population's stream.
    """
    dataset = dataset or tiny_dataset()
    trial_ids = list(range(len(configs_))) if trial_ids is None else trial_ids
    engine = Engine(
        dataset,
        seed=SEED,
        early_stopping=early_stopping,
        eval_batch_size=32,
        chunk=chunk,
        devices=devices,
        embedding_update=embedding_update,
    )
    population = population or engine.population(configs_[0], variants)
    view = engine.view(configs_[0]).on(population, len(configs_))
    stream = Stream.of(configs_, variants)
    multiple = max(stream.ratios) * regroup
    micro = stream.micro // regroup

    def blocks_of(epoch):
        blocks = engine.train_blocks(view, micro, epoch, multiple=multiple)
        return [regrouped(block, regroup) for block in blocks]

    per_epoch = [steps_per_epoch(blocks_of(0), stream.ratio(c)) for c in configs_]
    hparams = hparam_arrays(configs_, steps_per_epoch=per_epoch, variants=variants)
    state = population.init(hparams, trial_keys(SEED, trial_ids))
    history = []
    for epoch in range(epochs):
        state, outcome = engine.train_round(population, state, view, blocks_of(epoch))
        names = history_names(dataset.task)
        history.append({name: np.array([o[name] for o in outcome]) for name in names})
    return state, history


def history_names(task: str = "classify") -> tuple[str, ...]:
    """What `train`'s history holds: the train loss and accuracy, the task's validation metrics."""
    return ("train_loss", "train_accuracy", *(f"val_{m}" for m in task_of(task).metrics))


def regrouped(block, ratio):
    """A block's minibatches joined `ratio` at a time: [S, B] -> [S / ratio, ratio * B]."""
    rows = block.index.shape[0] // ratio
    return Block(block.length, block.index.reshape(rows, -1), block.weight.reshape(rows, -1))


def train_each_alone(
    configs_, *, epochs, early_stopping=EarlyStopping(), embedding_update="dense", dataset=None
):
    """Each config trained by itself (a population of width 1 on one device), with its
    population trial id; returns (state, history) of each, without the K axis."""
    dataset = dataset or tiny_dataset()
    program = program_for(configs_[0], dataset, embedding_update=embedding_update)
    alone = make_population(program, early_stopping, devices=1)
    runs = [
        train(
            [c],
            epochs=epochs,
            trial_ids=[k],
            population=alone,
            early_stopping=early_stopping,
            dataset=dataset,
        )
        for k, c in enumerate(configs_)
    ]
    return [(select(state, 0), [select(h, 0) for h in history]) for state, history in runs]


def assert_curves_equal(history, alone, *, epochs, rtol, atol, label=""):
    """Each config's curves in a population (`train`'s history) equal its own alone
    (`train_each_alone`'s), metric by metric and epoch by epoch."""
    for k, (_, solo_history) in enumerate(alone):
        for epoch in range(epochs):
            for metric, values in history[epoch].items():
                np.testing.assert_allclose(
                    values[k],
                    solo_history[epoch][metric],
                    rtol=rtol,
                    atol=atol,
                    err_msg=f"{label}config {k} epoch {epoch} {metric}",
                )


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


# What the data decided, written by hand so a report's load_sweep reads no data set.
RESOLVED_BY_HAND = {
    "buckets": [16],
    "class_weights": None,
    "embedding_width": None,
    "label_names": ["negative", "positive"],
    "vocab_size": 50,
    "width": 16,
}


def recorded_calls(monkeypatch, module, name: str) -> list:
    """Replace `module.name` (a figure function) by a recorder: each call's arguments are
    appended to the returned list, and it returns its last argument (the path)."""
    calls = []

    def record(*args):
        calls.append(args)
        return args[-1]

    monkeypatch.setattr(module, name, record)
    return calls


def sweep_each_merge(tmp_path, spec: dict, modes) -> tuple[dict, dict]:
    """`jaxtune sweep` of `spec` once per budget.merge mode, into tmp_path / mode; returns
    (records by mode, sorted by trial id; the printed output by mode, whitespace joined)."""
    import json

    import yaml
    from typer.testing import CliRunner

    from jaxtune.cli import app

    records, outputs = {}, {}
    for merge in modes:
        path = tmp_path / f"{merge}.yaml"
        path.write_text(yaml.safe_dump({**spec, "budget": {"merge": merge}}))
        out = tmp_path / merge
        result = CliRunner().invoke(app, ["sweep", str(path), "--out", str(out)])
        assert result.exit_code == 0, result.output
        outputs[merge] = " ".join(result.output.split())
        lines = (out / "results.jsonl").read_text().splitlines()
        records[merge] = sorted((json.loads(line) for line in lines), key=lambda r: r["trial_id"])
    return records, outputs
