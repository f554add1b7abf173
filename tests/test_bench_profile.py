"""The step profiler (jaxtune/bench/profile.py): op time attributed to the code that built it."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from jaxtune.bench.hlo import Gemm
from jaxtune.bench.profile import gemm_summary, op_counts, self_times


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
