"""`benchmarks/interleaved.py --quick`: every round measures its three rows, and the
ratios and the peak fraction come from them."""

import json
import os

import numpy as np
import pytest

from jaxtune.bench.interleaved import main


@pytest.mark.slow  # four processes and two GEMM peaks: about 40 s of the suite's 15 minutes
def test_quick_interleaved_rounds(tmp_path, capsys):
    try:
        import torch  # noqa: F401

        rows = ("population", "one_at_a_time_jax", "pytorch")
    except ImportError:
        rows = ("population", "one_at_a_time_jax")
    # One round of real measurements (four processes and two GEMM peaks, about 40 s here);
    # the median over several rounds is test_the_median_is_taken_over_the_rounds'.
    main(
        ["lstm", "4", "8", "--K", "4", "--rounds", "1", "--quick", "--one-core"]
        + ["--out", str(tmp_path)]
    )
    report = json.loads((tmp_path / "lstm_b4_h8_k4.json").read_text())
    assert [entry["round"] for entry in report["rounds"]] == [0]
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


def test_the_median_is_taken_over_the_rounds_and_the_peak_is_the_best(monkeypatch):
    """Three rounds of stand-in measurements (the real ones are in the test above)."""
    from jaxtune.bench import interleaved

    # population, then one at a time, in each of 3 rounds (no torch row: torch_available)
    rates = iter([30.0, 20.0, 10.0, 10.0, 50.0, 20.0])
    peaks = iter([100.0, 120.0, 90.0, 110.0, 95.0, 105.0])
    monkeypatch.setattr(interleaved, "torch_available", lambda: "torch not installed")
    monkeypatch.setattr(
        interleaved,
        "run_measurement",
        lambda mode, payload, timeout: ({"config_steps_per_s": next(rates), "process": {}}, 1.0),
    )
    monkeypatch.setattr(interleaved, "gemm_peak_gflops", lambda: {"peak": next(peaks)})
    report = interleaved.run_interleaved(
        interleaved.QUICK, "lstm", 4, 8, 4, rounds=3, log=lambda _: None
    )
    populations = [e["population"] for e in report["rounds"]]
    assert populations == [30.0, 10.0, 50.0]  # the rows in turn within each round
    assert report["median"]["population"] == 30.0
    assert report["median"]["one_at_a_time_jax"] == 20.0
    assert report["median"]["vs_one_at_a_time_jax"] == pytest.approx(1.5)  # of 1.5, 1.0, 2.5
    assert report["gemm_peak_gflops"] == 120.0
