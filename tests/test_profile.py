"""The step profiler (jaxtune/bench/profile.py): op time attributed to the code that built it."""

import json
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import pytest

from jaxtune.bench.profile import (
    Gemm,
    fused_dots,
    gemm_fusions,
    gemm_summary,
    op_counts,
    op_frames,
    self_times,
    source_label,
    stack_frames,
)
from jaxtune.models.dropout import dropout_mask


def inner(x):
    return jnp.sort(x, axis=0)  # a sort: XLA fuses nothing into it


def middle(x):
    return inner(x @ x)


def outer(x, key):
    return middle(x) * dropout_mask(key, 0.5, x.shape)


def _module_text():
    return jax.jit(outer).lower(jnp.ones((8, 8)), jax.random.key(0)).compile().as_text()


def test_ops_are_attributed_to_the_function_that_built_them():
    text = _module_text()
    frames, ops = stack_frames(text), op_frames(text)
    labels = {op: source_label(frames, frame) for op, frame in ops.items()}
    (dot,) = [op for op in ops if op.startswith("dot")]
    assert labels[dot] == "test_profile.py:middle"
    (sort,) = [op for op in ops if op.startswith("sort")]
    assert labels[sort] == "test_profile.py:inner"
    # The parent chain: inner was called from middle, which outer called.
    frame = frames[ops[sort]]
    callers = []
    while frame.parent in frames and len(callers) < 2:
        frame = frames[frame.parent]
        callers.append(frame.function)
    assert callers == ["middle", "outer"]
    # An op built inside jaxtune is attributed to jaxtune's function, not to its caller.
    assert "models/dropout.py:dropout_mask" in labels.values()


FUSED_DOT = """
%fused_computation (param_0: f32[4,8], param_1: f32[8,32]) -> f32[4,32] {
  %param_0 = f32[4,8]{1,0} parameter(0)
  %param_1 = f32[8,32]{1,0} parameter(1)
  ROOT %dot.18 = f32[4,32]{1,0} dot(%param_0, %param_1), lhs_contracting_dims={1}
}

%fused_computation.2 (param_0.1: f32[4,32]) -> f32[4,32] {
  ROOT %tanh.1 = f32[4,32]{1,0} tanh(%param_0.1)
}

ENTRY %main (x: f32[4,8], w: f32[8,32]) -> f32[4,32] {
  %ynn_fusion.3 = f32[4,32]{1,0} fusion(%x, %w), kind=kCustom, calls=%fused_computation
  ROOT %tanh_fusion = f32[4,32]{1,0} fusion(%ynn_fusion.3), kind=kLoop, calls=%fused_computation.2
}
"""


BATCHED_DOT = (
    """
%fused_computation.7 (param_0.2: f32[3,16,4], param_1.2: f32[3,16,5]) -> f32[3,4,5] {
  %param_0.2 = f32[3,16,4]{2,1,0} parameter(0)
  %param_1.2 = f32[3,16,5]{2,1,0} parameter(1)
"""
    "  ROOT %dot.2 = f32[3,4,5]{2,1,0} dot(%param_0.2, %param_1.2), lhs_batch_dims={0}, "
    "lhs_contracting_dims={1}, rhs_batch_dims={0}, rhs_contracting_dims={1}\n"
    """}

ENTRY %main (a: f32[3,16,4], b: f32[3,16,5]) -> f32[3,4,5] {
  ROOT %ynn_fusion = f32[3,4,5]{2,1,0} fusion(%a, %b), kind=kCustom, calls=%fused_computation.7
}
"""
)


def test_gemm_fusions_without_metadata_are_named_by_their_shapes():
    assert fused_dots(FUSED_DOT) == {"ynn_fusion.3": "f32[4,8] x f32[8,32] -> f32[4,32]"}
    # FLOPs by hand: 2 x output elements x contracted length.
    assert gemm_fusions(FUSED_DOT)["ynn_fusion.3"].flops == 2 * 4 * 32 * 8
    assert gemm_fusions(BATCHED_DOT) == {
        "ynn_fusion": Gemm("f32[3,16,4] x f32[3,16,5] -> f32[3,4,5]", 2 * 3 * 4 * 5 * 16)
    }


def test_gemm_summary_rates_each_shape_by_its_own_executions():
    gemms = {
        "ynn_fusion": Gemm("a x b -> c", 10**6),
        "ynn_fusion.1": Gemm("a x b -> c", 10**6),  # the same shape elsewhere: summed
        "ynn_fusion.2": Gemm("d x e -> f", 4 * 10**6),
        "ynn_fusion.3": Gemm("g x h -> i", 10**6),  # never executed: left out
    }
    events = [_event("ynn_fusion", 10 * i, 5) for i in range(3)]
    events += [_event("ynn_fusion.1", 100, 5), _event("ynn_fusion.2", 200, 40)]
    counts = op_counts(events)
    assert counts == {"ynn_fusion": 3, "ynn_fusion.1": 1, "ynn_fusion.2": 1}
    rows = gemm_summary(self_times(events), counts, gemms, config_steps=2)
    assert rows == [
        # 4 MFLOP in 40 us: 100 GFLOP/s.
        {"signature": "d x e -> f", "us_per_config_step": 20.0, "gflops_while_running": 100.0},
        # 4 executions of 1 MFLOP in 20 us: 200 GFLOP/s.
        {"signature": "a x b -> c", "us_per_config_step": 10.0, "gflops_while_running": 200.0},
    ]


def _event(name, ts, dur, tid=1):
    return {"ph": "X", "pid": 1, "tid": tid, "ts": ts, "dur": dur, "args": {"hlo_op": name}}


def test_self_time_subtracts_nested_ops_once():
    events = [
        _event("while.1", 0, 100),
        _event("dot.2", 10, 20),
        _event("cond.3", 40, 30),
        _event("fusion.4", 45, 10),  # inside cond.3, inside while.1
        _event("copy.5", 120, 5),
        _event("dot.2", 10, 50, tid=2),  # another thread: its own nesting
        {"ph": "X", "pid": 1, "tid": 1, "ts": 0, "dur": 500, "name": "ThunkExecutor"},
    ]
    assert self_times(events) == {
        "while.1": 100 - 20 - 30,
        "dot.2": 20 + 50,
        "cond.3": 30 - 10,
        "fusion.4": 10,
        "copy.5": 5,
    }


def test_profile_of_a_population_names_the_recurrent_cell(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).parents[1] / "benchmarks" / "profile_step.py"),
            *("gru", "4", "8", "--K", "2", "--steps", "2"),
            *("--embedding-dim", "8", "--seq-len", "8", "--vocab-size", "50"),
            *("--out", str(tmp_path)),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    (path,) = tmp_path.glob("*.json")
    result = json.loads(path.read_text())
    shares = [row["share"] for row in result["sources"]]
    assert sum(shares) == pytest.approx(1.0)
    assert all(row["us_per_config_step"] >= 0 for row in result["sources"])
    sources = [row["name"] for row in result["sources"]]
    assert any(name.startswith("models/cells.py:") for name in sources), sources
    assert any("optax <- " in name for name in sources), sources
    assert not any(name.startswith("(XLA ynn_fusion") for name in sources), sources
    assert result["config_steps_per_s"] > 0
    # The GRU's matmuls are found by shape, rated, and bound the rate from above.
    assert result["gemms"] and all(row["gflops_while_running"] > 0 for row in result["gemms"])
    assert 0 < result["gemm_share"] < 1
    assert result["gemm_bound_config_steps_per_s"] > result["config_steps_per_s"]
    assert f"`{sources[0]}`" in done.stdout
