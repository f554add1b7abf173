"""The accelerator path on a CPU: what a GPU run uses, forced here, gives the CPU's results.

Off a CPU a population is one vmap over all its configs (`budget.chunk: auto` -> all), up
to 1024 wide (`budget.max_population: auto`), sized by the free memory the device
reports (`memory_stats()`), and `budget.unroll` sets the recurrent scans' unroll. Each
of these is forced on the CPU here, so the code path a GPU takes is tested where CI runs.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import yaml
from support import configs, tiny_dataset
from typer.testing import CliRunner

from jaxtune.cli import app
from jaxtune.engine import Engine
from jaxtune.models import build_classifier
from jaxtune.plan import default_memory_budget, physical_memory_bytes, plan_populations
from jaxtune.population.status import EarlyStopping
from jaxtune.search.samplers import Trial
from jaxtune.spec import Budget

runner = CliRunner()


def scan_unrolls(jaxpr) -> list[int]:
    """The `unroll` of every scan in a jaxpr, nested ones included."""
    found = []
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "scan":
            found.append(eqn.params["unroll"])
        for value in eqn.params.values():
            for inner in value if isinstance(value, list | tuple) else [value]:
                if hasattr(inner, "jaxpr") and hasattr(inner.jaxpr, "eqns"):
                    found += scan_unrolls(inner.jaxpr)
                elif hasattr(inner, "eqns"):
                    found += scan_unrolls(inner)
    return found


@pytest.mark.parametrize("cell", ["gru", "lstm"])  # SimpleRNN runs the GRU's scan code
def test_unroll_reaches_every_recurrent_scan_and_changes_nothing(cell):
    config = {
        "architecture": cell,
        "hidden_size": (6, 5),
        "num_layers": 2,
        "bidirectional": True,
        "rnn_activation": "tanh",
        "embedding_dim": 4,
    }
    tokens = jax.random.randint(jax.random.key(1), (3, 7), 2, 20)  # [B, T]
    lengths = jnp.array([7, 4, 1], jnp.int32)  # [B]
    results = {}
    for unroll in (1, 4):
        model = build_classifier(config, 20, 3, scan_unroll=unroll)
        params = model.init(jax.random.key(0), tokens, lengths)

        def loss(params, model=model):
            return jnp.sum(model.apply(params, tokens, lengths) ** 2)

        jaxpr = jax.make_jaxpr(jax.value_and_grad(loss))(params)
        # 2 layers x 2 directions, each a forward scan and the fused backward's reverse scan
        assert scan_unrolls(jaxpr.jaxpr) == [unroll] * 8
        results[unroll] = jax.jit(jax.value_and_grad(loss))(params)
    for a, b in zip(jax.tree.leaves(results[1]), jax.tree.leaves(results[4]), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_backend_defaults():
    budget = Budget()
    assert budget.resolved_chunk("cpu") == 1 and budget.resolved_chunk("gpu") is None
    assert budget.resolved_max_population("cpu") == 64
    assert budget.resolved_max_population("gpu") == 1024
    assert Budget(max_population=8).resolved_max_population("gpu") == 8


def test_memory_budget_is_the_free_memory_the_devices_report():
    def device(limit, in_use):
        return SimpleNamespace(memory_stats=lambda: {"bytes_limit": limit, "bytes_in_use": in_use})

    gib = 2**30
    # Each device holds an equal share, so the least free one sets the budget.
    assert default_memory_budget([device(80 * gib, 2 * gib), device(80 * gib, 10 * gib)]) == (
        2 * 70 * gib
    )
    # A CPU reports nothing: half the machine's RAM.
    assert jax.local_devices()[0].memory_stats() is None
    assert default_memory_budget(jax.local_devices()) == physical_memory_bytes() // 2


def sweep(tmp_path, name, budget):
    document = {
        "name": name,
        "data": {"train_size": 160, "val_size": 48, "test_size": 16, "max_length": 12},
        "model": {"architecture": "lstm", "hidden_size": 8, "embedding_dim": 8, "batch_size": 32},
        "train": {"epochs": 2},
        "parameters": {
            "learning_rate": {"values": [0.003, 0.01, 0.03]},
            "dropout": {"values": [0.0, 0.2]},
        },
        "budget": budget,
    }
    spec = tmp_path / f"{name}.yaml"
    spec.write_text(yaml.safe_dump(document))
    out = tmp_path / name
    result = runner.invoke(app, ["sweep", str(spec), "--out", str(out)])
    assert result.exit_code == 0, result.output
    lines = (out / "results.jsonl").read_text().splitlines()
    records = sorted((json.loads(line) for line in lines), key=lambda r: r["trial_id"])
    return records, json.loads((out / "sweep.json").read_text())


def test_a_sweep_with_the_accelerator_settings_equals_the_cpu_defaults(tmp_path):
    cpu, cpu_run = sweep(tmp_path, "cpu", {})
    gpu, gpu_run = sweep(tmp_path, "gpu", {"chunk": "all", "unroll": 4, "max_population": 1024})
    assert (cpu_run["chunk"], cpu_run["unroll"]) == (1, 1)
    assert (gpu_run["chunk"], gpu_run["unroll"]) == (None, 4)
    assert len(cpu) == len(gpu) == 6
    for a, b in zip(cpu, gpu, strict=True):
        assert a["hparams"] == b["hparams"] and a["status"] == b["status"]
        assert a["best_epoch"] == b["best_epoch"]
        for x, y in zip(a["history"], b["history"], strict=True):
            for name in ("train_loss", "val_loss", "val_accuracy"):
                np.testing.assert_allclose(x[name], y[name], rtol=1e-5)


def test_a_population_of_1024_small_configs_plans_as_one_and_runs():
    rates = np.geomspace(1e-4, 1e-1, 1024)
    base = {"architecture": "gru", "hidden_size": 4, "embedding_dim": 4, "batch_size": 32}
    trials = [
        Trial(i, c)
        for i, c in enumerate(configs({**base, "epochs": 1}, [{"learning_rate": r} for r in rates]))
    ]
    [plan] = plan_populations(trials, Budget().resolved_max_population("gpu"))
    assert plan.width == plan.slots == 1024
    engine = Engine(tiny_dataset(), seed=0, early_stopping=EarlyStopping(), chunk=None)
    records = engine.run(plan)
    assert [r["trial_id"] for r in records] == list(range(1024))
    assert all(r["status"] == "completed" and r["epochs_run"] == 1 for r in records)
    losses = [r["history"][0]["train_loss"] for r in records]
    assert np.all(np.isfinite(losses)) and len(set(losses)) > 1000  # every config its own
