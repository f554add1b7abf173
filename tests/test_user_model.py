"""Your own Flax module as an architecture: imported by path from a spec, swept beside a
built-in GRU through the CLI, found again by final and report from another directory,
passed from Python, and each broken contract one line before anything trains."""

from __future__ import annotations

import json
import re
import textwrap
import uuid

import pytest
import yaml
from typer.testing import CliRunner

import jaxtune
from jaxtune.cli import app
from jaxtune.spec import SpecError, parse_spec

runner = CliRunner()

GOOD = '''
import flax.linen as nn
import jax.numpy as jnp

from jaxtune.models.dropout import dropout


class MeanPool(nn.Module):
    """A masked mean of a tanh projection; traced dropout on the pooled features."""

    hidden_size: int = 16
    squash: bool = True
    dynamic_hparams = {"feature_dropout": (0.1, 0.0, 0.9)}

    @nn.compact
    def __call__(self, xs, lengths, hparams, *, key=None, train=False):
        mask = (jnp.arange(xs.shape[1])[None, :] < lengths[:, None])[..., None]  # [B, T, 1]
        h = nn.Dense(self.hidden_size)(xs)  # [B, T, H]
        h = nn.tanh(h) if self.squash else h
        pooled = (h * mask).sum(1) / jnp.maximum(lengths, 1)[:, None]  # [B, H]
        if train:
            pooled = dropout(key, hparams["feature_dropout"], pooled)
        return pooled
'''

BROKEN = """
import flax.linen as nn
import jax.numpy as jnp


class PerStep(nn.Module):
    dynamic_hparams = {"scale": 1.0}

    @nn.compact
    def __call__(self, xs, lengths, hparams, *, key=None, train=False):
        return nn.Dense(4)(xs)  # [B, T, 4]: no pooling


class PythonNumber(nn.Module):
    dynamic_hparams = {"scale": 1.0, "gate": 0.5}

    @nn.compact
    def __call__(self, xs, lengths, hparams, *, key=None, train=False):
        if hparams["gate"] > 0.2:  # a traced value in Python control flow
            xs = xs * 2
        return nn.Dense(4)(xs.mean(1)) * hparams["scale"]


class ReadsUndeclared(nn.Module):
    @nn.compact
    def __call__(self, xs, lengths, hparams, *, key=None, train=False):
        return nn.Dense(4)(xs.mean(1)) * hparams["temperature"]


class NoDefault(nn.Module):
    width: int

    @nn.compact
    def __call__(self, xs, lengths, hparams, *, key=None, train=False):
        return nn.Dense(self.width)(xs.mean(1))


class JaxtuneName(nn.Module):
    learning_rate: float = 0.1

    @nn.compact
    def __call__(self, xs, lengths, hparams, *, key=None, train=False):
        return nn.Dense(4)(xs.mean(1))


class OldSignature(nn.Module):
    @nn.compact
    def __call__(self, xs, lengths):
        return nn.Dense(4)(xs.mean(1))


class NotAModule:
    pass
"""


@pytest.fixture
def package(tmp_path, monkeypatch):
    """A package of a name of its own (modules are cached by name for the whole session)
    in a temporary directory, which is the working directory."""
    name = f"usermodels_{uuid.uuid4().hex[:8]}"
    folder = tmp_path / name
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    (folder / "good.py").write_text(textwrap.dedent(GOOD))
    (folder / "broken.py").write_text(textwrap.dedent(BROKEN))
    monkeypatch.chdir(tmp_path)
    return name


def spec(architectures, **parameters) -> dict:
    return {
        "name": "user",
        "seed": 1,
        "data": {"train_size": 160, "val_size": 48, "test_size": 32, "max_length": 10},
        "model": {"embedding_dim": 8, "epochs": 2, "batch_size": 32},
        "parameters": {
            **{k: {"values": v} for k, v in parameters.items()},
            "architecture": {"values": architectures},
        },
    }


def sweep_cli(document, folder, out):
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return runner.invoke(app, ["sweep", str(path), "--out", str(out), "--wandb", "disabled"])


def read_records(out):
    return [json.loads(line) for line in (out / "results.jsonl").open()]


def test_a_module_named_in_a_spec_sweeps_beside_a_gru_and_final_finds_it_from_elsewhere(
    package, tmp_path, monkeypatch
):
    module = f"{package}.good:MeanPool"
    document = spec(["gru", module], hidden_size=[8, 16], feature_dropout=[0.0, 0.3])
    out = tmp_path / "sweep"
    result = sweep_cli(document, tmp_path, out)
    assert result.exit_code == 0, result.output
    records = read_records(out)
    # gru: 2 widths (feature_dropout is not its own: reset, deduped); MeanPool: 2 x 2.
    assert len(records) == 6
    mine = [r for r in records if r["hparams"]["architecture"] == module]
    assert sorted((r["hparams"]["hidden_size"], r["hparams"]["feature_dropout"]) for r in mine) == [
        (8, 0.0),
        (8, 0.3),
        (16, 0.0),
        (16, 0.3),
    ]
    assert all(r["hparams"]["squash"] is True for r in mine)  # the field's default
    assert all(r["status"] == "completed" for r in records)
    # Two rates of one width are one program: its dynamic hparam does not split them.
    assert len({r["params"]["checkpoint"] for r in mine}) == 2
    assert json.loads((out / "run.json").read_text())["code_path"] == [str(tmp_path.resolve())]

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the module is found where the sweep found it (run.json)
    final = runner.invoke(app, ["final", str(out)])
    assert final.exit_code == 0, final.output
    report = runner.invoke(app, ["report", str(out)])
    assert report.exit_code == 0, report.output
    markdown = (out / "report.md").read_text()
    assert module in markdown


@pytest.mark.parametrize(
    "architecture, message",
    [
        (
            "broken:PerStep",
            r"in training returned shape \(2, 8, 4\) float32; expected float "
            r"features \[B, D\] \(B=2\)",
        ),
        ("broken:PythonNumber", "the traced hyperparameter 'gate' is used as a Python value"),
        ("broken:ReadsUndeclared", r"reads hparams\['temperature'\], which it does not declare"),
        ("broken:NoDefault", "field 'width' has no default"),
        ("broken:JaxtuneName", "field 'learning_rate' is jaxtune's own hyperparameter"),
        ("broken:OldSignature", r"expected __call__\(self, xs, lengths, hparams, \*, key=None"),
        ("broken:NotAModule", "expected a flax.linen.Module subclass"),
        ("broken:Missing", "module .*broken has no Missing"),
        ("nosuchpackage.models:Thing", r"cannot import nosuchpackage.models \(ModuleNotFoundError"),
    ],
)
def test_a_broken_contract_is_one_line_naming_the_module_before_training(
    package, tmp_path, architecture, message
):
    path = architecture if architecture.startswith("nosuch") else f"{package}.{architecture}"
    out = tmp_path / "sweep"
    result = sweep_cli(spec(["gru", path]), tmp_path, out)
    assert result.exit_code == 2, result.output
    line = result.output.strip()
    assert "\n" not in line and "Traceback" not in line
    assert line.startswith("error: ") and path.partition(":")[0] in line, line
    assert re.search(message, line), line
    assert not (out / "results.jsonl").exists()  # nothing trained


def test_an_undeclared_hyperparameter_names_what_each_module_takes(package):
    module = f"{package}.good:MeanPool"
    with pytest.raises(SpecError) as error:
        parse_spec(spec(["gru", module], feature_dropuot=[0.1]), "spec.yaml")
    text = str(error.value)
    assert text.startswith("spec.yaml: parameters.feature_dropuot: unknown hyperparameter")
    assert f"{module} takes hidden_size, squash, feature_dropout" in text
    with pytest.raises(SpecError, match=r"expected a number in \[0, 0.9\], found 0.95"):
        parse_spec(spec([module], feature_dropout=[0.95]), "spec.yaml")


def test_a_module_passed_from_python_equals_the_same_module_named_in_a_spec(
    package, tmp_path, monkeypatch
):
    import importlib

    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module(f"{package}.good")
    document = spec(["gru", f"{package}.good:MeanPool"], feature_dropout=[0.0, 0.3])
    by_path = jaxtune.sweep(document, out=tmp_path / "path", wandb="disabled")
    by_name = {**document, "parameters": {**document["parameters"]}}
    by_name["parameters"]["architecture"] = {"values": ["gru", "MeanPool"]}
    passed = jaxtune.sweep(by_name, model=module.MeanPool, out=tmp_path / "py", wandb="disabled")

    def curves(result):
        return {r["trial_id"]: [h["val_loss"] for h in r["history"]] for r in result.records}

    assert curves(passed) == curves(by_path)
    # A spec that names no architecture sweeps the one module given.
    alone = {**document, "parameters": {"feature_dropout": {"values": [0.0, 0.3]}}}
    only = jaxtune.sweep(alone, model=module.MeanPool, out=tmp_path / "only", wandb="disabled")
    assert {r["hparams"]["architecture"] for r in only.records} == {f"{package}.good:MeanPool"}
    with pytest.raises(jaxtune.SweepError, match="expected a flax.linen.Module subclass"):
        jaxtune.sweep(alone, model=dict, out=tmp_path / "bad")


def test_a_sweep_of_a_module_killed_mid_population_resumes_from_elsewhere_to_the_same_results(
    package, tmp_path, monkeypatch
):
    from test_resume import finish, jaxtune, results

    document = spec(["gru", f"{package}.good:MeanPool"], feature_dropout=[0.0, 0.3])
    document["model"]["epochs"] = 3
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    finish(jaxtune("sweep", path, "--out", tmp_path / "whole", "--wandb", "disabled"))
    killed = jaxtune(
        "sweep",
        path,
        "--out",
        tmp_path / "killed",
        "--wandb",
        "disabled",
        env={"JAXTUNE_TEST_KILL_AT": "1:1"},  # the module's population, after epoch 1
    )
    killed.communicate(timeout=600)
    assert killed.returncode == -9
    assert not (tmp_path / "killed" / "sweep.json").exists()
    monkeypatch.chdir(tmp_path / "killed")  # found where the sweep found it (run.json)
    finish(jaxtune("resume", tmp_path / "killed"))
    assert results(tmp_path / "killed") == results(tmp_path / "whole")


def test_the_readme_your_own_model_block_runs(tmp_path, monkeypatch):
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Your own model", 1)[1].split("\n### ", 1)[0]
    block = re.findall(r"```python\n(.*?)```", section, flags=re.S)[0]
    monkeypatch.chdir(tmp_path)
    exec(
        compile(block, "README.md (Your own model)", "exec"), {"__name__": "__main__"}
    )  # as in a notebook
    records = [json.loads(line) for line in (tmp_path / "runs/own_model/results.jsonl").open()]
    assert {r["hparams"]["architecture"] for r in records} == {
        "gru",
        "__main__:AttentionPool",
    }
    assert len(records) == 1 + 2  # gru (attention_dropout is not its own); the module's two rates
    assert all(r["status"] == "completed" for r in records)


def test_a_diverging_config_of_a_module_fails_alone(package, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    document = spec([f"{package}.good:MeanPool"], learning_rate=[1e-2, 1e6])
    document["model"].update(optimizer="sgd", epochs=2)
    result = jaxtune.sweep(document, out=tmp_path / "sweep", wandb="disabled")
    status = {r["hparams"]["learning_rate"]: r["status"] for r in result.records}
    assert status == {1e-2: "completed", 1e6: "failed"}
    # Its neighbour trained as if alone: the same curve as a sweep of it by itself.
    alone = jaxtune.sweep(
        {**document, "parameters": {**document["parameters"], "learning_rate": {"values": [1e-2]}}},
        out=tmp_path / "alone",
        wandb="disabled",
    )
    [kept] = [r for r in result.records if r["status"] == "completed"]
    assert [h["val_loss"] for h in kept["history"]] == pytest.approx(
        [h["val_loss"] for h in alone.records[0]["history"]], rel=1e-5
    )
