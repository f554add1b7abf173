"""`benchmarks/interleaved.py --quick`: every round measures its three rows, and the
ratios and the peak fraction come from them."""

import json
import os

import numpy as np
import pytest

from jaxtune.bench.interleaved import main


def test_quick_interleaved_rounds(tmp_path, capsys):
    try:
        import torch  # noqa: F401

        rows = ("population", "one_at_a_time_jax", "pytorch")
    except ImportError:
        rows = ("population", "one_at_a_time_jax")
    main(
        ["lstm", "4", "8", "--K", "4", "--rounds", "2", "--quick", "--one-core"]
        + ["--out", str(tmp_path)]
    )
    report = json.loads((tmp_path / "lstm_b4_h8_k4.json").read_text())
    assert [entry["round"] for entry in report["rounds"]] == [0, 1]
    pinned = ("population_one_core", "one_at_a_time_jax_one_core")
    for entry in report["rounds"]:
        for row in rows + pinned:
            assert entry[row] > 0
        # The pinned rows' processes had one core and one device; the others every core.
        for row in pinned:
            assert entry["processes"][row] == {"cpus": 1, "jax_devices": 1}
        for row in rows:
            assert entry["processes"][row]["cpus"] == len(os.sched_getaffinity(0))
        # The ratio to one at a time is the product of its one-core factors.
        assert entry["vs_one_at_a_time_jax"] == pytest.approx(
            entry["one_core_vs_one_at_a_time_jax"]
            * entry["population_two_core_gain"]
            / entry["one_at_a_time_two_core_gain"]
        )
        assert entry["population_two_core_gain"] == pytest.approx(
            entry["population"] / entry["population_one_core"]
        )
        if "pytorch" in rows:
            assert entry["vs_pytorch"] == pytest.approx(entry["population"] / entry["pytorch"])
        else:
            assert "pytorch" not in entry and report["pytorch_error"].startswith("torch not")
        assert entry["vs_one_at_a_time_jax"] == pytest.approx(
            entry["population"] / entry["one_at_a_time_jax"]
        )
    peaks = [
        e[when]["peak"]
        for e in report["rounds"]
        for when in ("gemm_peak_before", "gemm_peak_after")
    ]
    assert report["gemm_peak_gflops"] == max(peaks)
    median = report["median"]
    assert median["vs_one_at_a_time_jax"] == pytest.approx(
        np.median([e["vs_one_at_a_time_jax"] for e in report["rounds"]])
    )
    assert median["population_fraction_of_peak"] == pytest.approx(
        median["population"] * report["flops_per_config_step"] / 1e9 / max(peaks)
    )
    table = (tmp_path / "lstm_b4_h8_k4.md").read_text()
    assert capsys.readouterr().out.endswith(table + "\n")  # printed after the round logs
    assert f"| median | {median['population']:.1f} |" in table
    assert f"| median | {median['population_one_core']:.1f} |" in table


def test_interleaved_rejects_zero_rounds_with_a_usage_error(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["lstm", "4", "8", "--rounds", "0", "--quick"])
    assert stop.value.code == 2
    assert "rounds must be at least 1, got 0" in capsys.readouterr().err
