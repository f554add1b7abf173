"""The throughput table (jaxtune/bench/throughput_table.py): rows read at the focus K."""

from jaxtune.bench.throughput_table import focus_width, markdown_table


def _row(k, rate, **extra):
    return {"K": k, "config_steps_per_s": rate, "fraction_of_peak": 0.25, "compile_s": 3.0} | extra


def _report(complete=True):
    case = {
        "architecture": "gru",
        "batch_size": 16,
        "hidden_size": 64,
        "population": [_row(8, 100.0, devices=2), _row(64, 300.0, devices=2), _row(128, 250.0)],
        "population_one_vmap": {"error": "out of memory"},
        "population_one_device": _row(64, 150.0),
        "one_at_a_time_jax": _row(1, 60.0),
        "per_process_trial": _row(1, 20.0),
        "pytorch": _row(1, 75.0),
        "ratios": {"K64_vs_pytorch": 4.0, "K64_vs_one_at_a_time_jax": 5.0},
        "memory": {"bytes_per_config_measured": 3 * 2**20, "bytes_per_config_estimated": 2**21},
    }
    return {
        "meta": {
            "date": "2026-12-06",
            "machine": "x86_64",
            "cpu_count": 2,
            "jax": "0",
            "complete": complete,
        },
        "settings": {
            "widths": [8, 64, 128],
            "embedding_dim": 32,
            "seq_len": 40,
            "vocab_size": 1000,
            "architectures": ["gru", "lstm"],
            "sizes": [[16, 64]],
        },
        "gemm_peak_gflops": 90.0,
        "cases": [case],
    }


def test_focus_is_64_when_measured_else_the_widest():
    assert focus_width([1, 8, 64, 256]) == 64
    assert focus_width([1, 4, 16]) == 16


def test_row_reads_each_column_at_the_focus_width():
    lines = markdown_table(_report()).splitlines()
    header = next(line for line in lines if line.startswith("| model"))
    row = next(line for line in lines if line.startswith("| gru"))
    columns = [c.strip() for c in header.strip("|").split("|")]
    cells = dict(zip(columns, (c.strip() for c in row.strip("|").split("|")), strict=True))
    assert cells["best K"] == "64"  # 300 beats 250 at K=128
    assert cells["population K=64"] == "300.0"
    assert cells["K=64 on one device"] == "150.0"
    assert cells["K=64 as one vmap"] == "error"
    assert cells["K=64 / PyTorch"] == "4.00x"
    assert cells["K=64 / JAX solo"] == "5.00x"
    assert cells["K=64 lazy"] == "error"  # not measured in this report
    assert cells["lazy / PyTorch"] == "-"
    assert cells["MB / config"] == "3 (est. 2)"
    assert cells["MB / config (lazy)"] == "-"
    assert cells["largest K in 24 GB"] == "-"
    assert len(cells) == 21


def test_partial_run_says_how_many_cases_were_measured():
    assert "Partial run" not in markdown_table(_report())
    assert "**Partial run**: 1 of 2 cases measured." in markdown_table(_report(complete=False))
