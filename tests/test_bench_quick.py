"""`benchmarks/throughput.py --quick`: every row is measured and the JSON has its schema."""

import dataclasses
import json

import pytest

from jaxtune.bench.harness import QUICK, Settings
from jaxtune.bench.throughput import run_benchmark


@pytest.mark.slow  # the throughput harness end to end, 75 s: `make test-slow` (CI)
def test_quick_benchmark_measures_every_row(tmp_path):
    try:
        import torch  # noqa: F401

        has_torch = True
    except ImportError:
        has_torch = False
    # One architecture: every row is the same harness code for each of them (each row runs
    # in its own process, about a minute per architecture). CNN flops are checked by hand in
    # test_bench_flops.py, and CNN sweeps run end to end in test_shipped_specs.py.
    settings = dataclasses.replace(QUICK, architectures=("lstm",))
    report = run_benchmark(settings, tmp_path, log=lambda line: None)
    assert json.loads((tmp_path / "throughput.json").read_text()) == json.loads(json.dumps(report))
    assert report["meta"]["complete"] is True
    assert "Partial run" not in (tmp_path / "throughput.md").read_text()
    table = (tmp_path / "throughput.md").read_text()
    assert "Mixed populations: K configs of batch sizes B, 2B, 4B, 8B" in table
    # The peak is measured at the start and the end; every fraction is against the higher.
    detail = report["gemm_peak_detail"]
    for when in ("start", "end"):
        assert detail[when]["one_device"] > 0 and detail[when]["every_device"] > 0
        assert detail[when]["peak"] == max(detail[when]["one_device"], detail[when]["every_device"])
    peak = report["gemm_peak_gflops"]
    assert peak == max(detail["start"]["peak"], detail["end"]["peak"])
    assert f"GEMM peak {peak:.0f} GFLOP/s (the best of its timings at the run's start / end" in (
        table
    )
    assert len(report["cases"]) == len(settings.architectures) * len(settings.sizes)
    for case in report["cases"]:
        assert case["flops_per_config_step"] > 0
        assert [p for p in case["population"] if "error" in p] == []  # shows the error
        assert [p["K"] for p in case["population"]] == list(settings.widths)
        rows = [
            *case["population"],
            case["population_one_vmap"],
            case["population_one_device"],
            case["population_lazy_embedding"],
            case["population_lazy_embedding_smallest_K"],
            case["one_at_a_time_jax"],
            case["per_process_trial"],
        ]
        if has_torch:
            rows.append(case["pytorch"])
        else:
            assert case["pytorch"] == {"error": "torch not installed (pip install -e '.[torch]')"}
        for row in rows:
            assert "error" not in row, row
            for key in ("config_steps_per_s", "tokens_per_s", "gflops", "fraction_of_peak"):
                assert row[key] > 0
            assert row["fraction_of_peak"] == pytest.approx(row["gflops"] / peak)
        for point in case["population"]:
            assert point["compile_s"] > 0 and point["peak_rss_bytes"] > 0
            assert point["active_after"] == point["K"]  # nothing diverged or stopped
        assert case["population_one_vmap"]["chunk"] is None
        # conftest's 4 devices reach the benchmark's processes: K=4 splits, K=1 cannot
        assert [p["devices"] for p in case["population"]] == [1, 4]
        assert case["population_one_device"]["devices"] == 1
        assert case["population_one_device"]["K"] == max(settings.widths)
        assert f"K{max(settings.widths)}_devices_vs_one_device" in case["ratios"]
        assert (
            case["population_lazy_embedding"]["active_after"]
            == case["population_lazy_embedding"]["K"]
        )
        assert case["population_lazy_embedding_smallest_K"]["K"] == min(settings.widths)
        # K configs of every (batch size, optimizer) pair there is room for: one program
        # merged, one per pair apart, every config through the same examples.
        mixed = case["mixed_population"]
        assert mixed["merged"]["programs"] == 1
        assert mixed["separate"]["programs"] == settings.mixed_width  # (B, adam), (B, rmsprop)
        assert mixed["merged_vs_separate"] == pytest.approx(
            mixed["merged"]["examples_per_s"] / mixed["separate"]["examples_per_s"]
        )
        assert mixed["merged"]["seconds_per_epoch"] > 0
        assert case["memory"]["bytes_per_config_estimated"] > 0
        # Chunked, a config holds the same state under both updates; the row views are
        # held by one chunk at a time (memory.py).
        assert (
            case["memory_lazy_embedding"]["bytes_per_config_estimated"]
            == case["memory"]["bytes_per_config_estimated"]
            > 0
        )
        assert set(case["ratios"]) >= {f"K{k}_vs_one_at_a_time_jax" for k in settings.widths}
        assert f"| {case['architecture']} | {case['batch_size']} |" in table


def test_the_benchmark_calls_as_many_steps_per_jitted_call_as_the_engine():
    from jaxtune.engine import BLOCK_STEPS

    assert Settings().steps == BLOCK_STEPS


def test_quick_settings_cover_every_architecture():
    from jaxtune.space import ARCHITECTURES

    assert set(QUICK.architectures) == set(ARCHITECTURES) == set(Settings().architectures)


def test_a_run_stopped_after_a_case_keeps_that_case(tmp_path, monkeypatch):
    class Stop(Exception):
        pass

    # What is kept is the harness's business, not the measurements': every row's process
    # is replaced by a failed one (a row with an error, as a crashed process gives), so
    # the test takes seconds; the test above measures every row for real.
    monkeypatch.setattr(
        "jaxtune.bench.throughput.run_measurement",
        lambda mode, payload, timeout: ({"error": "exit 1"}, 0.0),
    )

    def log(line):
        if line.startswith("rnn "):  # the second case's first measurement
            raise Stop

    settings = dataclasses.replace(QUICK, architectures=("cnn", "rnn"), widths=(1, 2))
    with pytest.raises(Stop):
        run_benchmark(settings, tmp_path, log=log)
    report = json.loads((tmp_path / "throughput.json").read_text())
    assert report["meta"]["complete"] is False
    assert [case["architecture"] for case in report["cases"]] == ["cnn"]
    assert report["cases"][0]["population"] == [{"error": "exit 1"}] * 2  # K = 1, 2
    table = (tmp_path / "throughput.md").read_text()
    assert "**Partial run**: 1 of 2 cases measured." in table
    assert "| cnn | 4 |" in table and "| rnn |" not in table
    assert not list(tmp_path.glob(".*partial"))
