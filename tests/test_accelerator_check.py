"""benchmarks/accelerator/check.sh on the CPU at tiny sizes: every stage runs and is recorded."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from support import run_python

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow  # the accelerator check script on a CPU, 65 s: `make test-slow` (CI)
def test_the_accelerator_check_runs_every_stage_on_a_cpu(tmp_path):
    out = tmp_path / "out"
    script = ROOT / "benchmarks" / "accelerator" / "check.sh"
    run_python(
        ["-c", "import subprocess, sys; sys.exit(subprocess.call(sys.argv[1:]))"]
        + ["bash", str(script), "--quick", "--out", str(out)],
        timeout=600,
        JAX_PLATFORMS="cpu",
        XLA_FLAGS="--xla_backend_optimization_level=0",  # tiny programs compile faster
        PYTHON=sys.executable,
    )
    report = json.loads((out / "accelerator.json").read_text())
    assert report["environment"]["backend"] == "cpu"
    assert report["tests"]["exit_code"] == 0 and "passed" in report["tests"]["summary"]
    assert "passed" in (out / "tests.log").read_text()
    assert report["gemm_peak"]["peak"] > 0
    [(name, case)] = report["cases"].items()
    assert name == "gru_b4_h8"
    solo = case["one_at_a_time_jax"]["config_steps_per_s"]
    assert solo > 0
    row = case["population_K2"]
    assert row["K"] == 2 and row["chunk"] is None  # one vmap: chunk auto off a CPU
    assert row["vs_one_at_a_time_jax"] == pytest.approx(row["config_steps_per_s"] / solo)
    assert row["fraction_of_peak"] == pytest.approx(row["gflops"] / report["gemm_peak"]["peak"])
    torch = case["pytorch"]
    assert torch.get("config_steps_per_s", 0) > 0 or torch == {
        "skipped": "torch is not importable here"
    }
    assert [row["config_steps_per_s"] > 0 for row in report["unroll"]["rows"].values()] == [
        True,
        True,
    ]
    # The mixed row, one vmap: K=2 configs of two optimizer kinds, merged and apart.
    mixed = report["mixed"]["rows"]
    assert (mixed["merged"]["programs"], mixed["separate"]["programs"]) == (1, 2)
    assert mixed["merged"]["examples_per_s"] > 0 and mixed["separate"]["examples_per_s"] > 0
    table = (out / "accelerator.md").read_text()
    assert "Mixed GRU population K=2, one vmap" in table
    assert f"| gru_b4_h8 | 2 | {case['population_K2']['config_steps_per_s']:.1f} |" in table
