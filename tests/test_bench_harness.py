"""bench/harness.py: a case and its measurement arguments, the measurement process's
result or error, torch's availability and the GEMM peak."""

import dataclasses
import json
import subprocess
import sys
import types

import pytest

from jaxtune.bench.flops import train_flops_per_step
from jaxtune.bench.harness import (
    QUICK,
    case_of,
    gemm_peak_gflops,
    measurement_args,
    run_measurement,
    torch_available,
)
from jaxtune.space import complete_config


@pytest.mark.parametrize("architecture", ["gru", "cnn"])
def test_a_case_carries_the_settings_sizes_and_its_config_matches(architecture):
    case, config, flops = case_of(QUICK, architecture, batch=4, hidden=8)
    assert case == {
        "architecture": architecture,
        "batch_size": 4,
        "hidden_size": 8,
        "embedding_dim": QUICK.embedding_dim,
        "seq_len": QUICK.seq_len,
        "vocab_size": QUICK.vocab_size,
        "num_classes": QUICK.num_classes,
    }
    assert config == complete_config(config)
    assert config["architecture"] == architecture and config["batch_size"] == 4
    assert config["embedding_dim"] == QUICK.embedding_dim
    assert config["num_filters" if architecture == "cnn" else "hidden_size"] == 8
    assert flops == train_flops_per_step(config, QUICK.seq_len, QUICK.num_classes) > 0


def test_a_wider_hidden_size_costs_more_flops():
    *_, narrow = case_of(QUICK, "lstm", batch=4, hidden=8)
    *_, wide = case_of(QUICK, "lstm", batch=4, hidden=16)
    assert wide > narrow


def test_measurement_args_carry_the_case_and_the_timing_settings():
    settings = dataclasses.replace(QUICK, steps=3, repeats=5, target_seconds=0.25)
    case, _, _ = case_of(settings, "rnn", 4, 8)
    assert measurement_args(settings, case) == {
        "case": case,
        "steps": 3,
        "repeats": 5,
        "target_seconds": 0.25,
    }


def test_a_failed_measurement_process_is_an_error_row_with_its_last_line():
    # A real process: the measure module refuses a mode it does not know.
    result, wall = run_measurement("no_such_mode", {"case": {}}, timeout=60)
    assert result == {"error": "exit 1: unknown mode 'no_such_mode'"}
    assert isinstance(wall, float)


def fake_run(returncode, stdout="", stderr=""):
    seen = {}

    def run(args, **kwargs):
        seen["args"] = args
        return subprocess.CompletedProcess(args, returncode, stdout, stderr)

    return run, seen


def test_the_result_is_the_last_line_the_process_prints(monkeypatch):
    run, seen = fake_run(0, stdout='a warning\n{"K": 1}\n{"K": 2, "x": [1]}\n')
    monkeypatch.setattr(subprocess, "run", run)
    payload = {"case": {"architecture": "gru"}, "K": 2}
    result, _ = run_measurement("population", payload, timeout=5)
    assert result == {"K": 2, "x": [1]}
    assert seen["args"] == [
        sys.executable,
        "-m",
        "jaxtune.bench.measure",
        "population",
        json.dumps(payload),
    ]


def test_a_process_that_dies_silently_says_so(monkeypatch):
    monkeypatch.setattr(subprocess, "run", fake_run(-9, stderr="  \n")[0])
    result, _ = run_measurement("population", {}, timeout=5)
    assert result == {"error": "exit -9: no output"}


def test_torch_available_says_why_torch_rows_are_absent(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch raises ImportError
    assert torch_available() == "torch not installed (pip install -e '.[torch]')"
    monkeypatch.setitem(sys.modules, "torch", types.ModuleType("torch"))
    assert torch_available() is None


def test_the_gemm_peak_is_the_higher_of_its_two_rates():
    rates = gemm_peak_gflops(repeats=2, size=32)
    assert set(rates) == {"peak", "one_device", "every_device"}
    assert rates["one_device"] > 0 and rates["every_device"] > 0
    assert rates["peak"] == max(rates["one_device"], rates["every_device"])
