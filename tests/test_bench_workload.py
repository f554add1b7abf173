"""bench/workload.py: a case's random workload, its K configs, the timing loop, peak RSS."""

from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest

from jaxtune.bench import workload as workload_module
from jaxtune.bench.workload import peak_rss_bytes, population_configs, timed_calls, workload
from jaxtune.space import STATIC_NAMES, complete_config

CASE = {
    "architecture": "gru",
    "batch_size": 4,
    "hidden_size": 8,
    "embedding_dim": 6,
    "seq_len": 8,
    "vocab_size": 50,
    "num_classes": 3,
}


def test_the_workload_is_full_length_random_tokens_in_steps_of_batches():
    steps, b, t = 3, CASE["batch_size"], CASE["seq_len"]
    config, split, index, weights = workload(CASE, steps)
    assert split.tokens.shape == (steps * b, t) and split.tokens.dtype == np.int32
    assert split.tokens.min() >= 2 and split.tokens.max() < CASE["vocab_size"]  # no pad, no oov
    np.testing.assert_array_equal(split.lengths, np.full(steps * b, t))
    assert split.labels.min() >= 0 and split.labels.max() < CASE["num_classes"]
    # Each example is read once, in order, at full weight.
    np.testing.assert_array_equal(index.ravel(), np.arange(steps * b))
    assert index.shape == weights.shape == (steps, b)
    assert np.all(weights == 1.0) and weights.dtype == np.float32


def test_the_workload_config_is_complete_with_the_cases_sizes():
    recurrent, *_ = workload(CASE, 1)
    assert recurrent["hidden_size"] == CASE["hidden_size"]
    assert recurrent["embedding_dim"] == CASE["embedding_dim"]
    config, *_ = workload({**CASE, "architecture": "cnn", "filter_sizes": [2, 3]}, 1)
    assert config == complete_config({**config})  # every hyperparameter has a value
    assert config["architecture"] == "cnn"
    assert config["batch_size"] == CASE["batch_size"]
    assert config["num_filters"] == CASE["hidden_size"]
    assert config["embedding_dim"] == CASE["embedding_dim"]
    assert tuple(config["filter_sizes"]) == (2, 3)
    assert config["optimizer"] == "adam"


def test_the_workload_is_the_same_in_every_process():
    first, again = workload(CASE, 2)[1], workload(CASE, 2)[1]
    np.testing.assert_array_equal(first.tokens, again.tokens)
    np.testing.assert_array_equal(first.labels, again.labels)


@pytest.mark.parametrize("width", [1, 2, 5, 12])
def test_population_configs_differ_only_in_dynamic_hyperparameters(width):
    config, *_ = workload(CASE, 1)
    configs = population_configs(config, width)
    assert len(configs) == width
    for one in configs:
        assert {n: one[n] for n in STATIC_NAMES} == {n: config[n] for n in STATIC_NAMES}
        assert one["learning_rate"] > 0 and 0 <= one["dropout"] < 1
    distinct = {(c["learning_rate"], c["dropout"]) for c in configs}
    assert len(distinct) == min(width, 12)  # 4 learning rates x 3 dropouts


def test_timed_calls_warm_up_once_then_time_whole_blocks():
    calls = []

    def call():
        calls.append(None)
        return jnp.zeros(())

    seconds, per_repeat = timed_calls(call, repeats=3, target_seconds=0.0)
    assert per_repeat == 1  # a target of no time is one call per block
    assert len(calls) == 1 + 3 * per_repeat
    assert isinstance(seconds, float) and seconds >= 0


class ScriptedClock:
    """Stands in for the `time` module: perf_counter returns the given readings in turn."""

    def __init__(self, readings):
        self.readings = iter(readings)

    def perf_counter(self):
        return next(self.readings)


def test_timed_calls_size_blocks_from_the_warm_up_and_take_the_median(monkeypatch):
    calls = []

    def call():
        calls.append(None)
        return jnp.zeros(())

    # Warm-up 1 s against a 3 s target: blocks of 3 calls, lasting 3 s, 9 s and 0.6 s.
    clock = ScriptedClock([0.0, 1.0, 10.0, 13.0, 20.0, 29.0, 30.0, 30.6])
    monkeypatch.setattr(workload_module, "time", clock)
    seconds, per_repeat = timed_calls(call, repeats=3, target_seconds=3.0)
    assert per_repeat == 3
    assert len(calls) == 1 + 3 * 3
    assert seconds == pytest.approx(np.median([3.0 / 3, 9.0 / 3, 0.6 / 3]))


def vm_kib(field):
    """A field of /proc/self/status in KiB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    pytest.skip(f"/proc/self/status has no {field}")


def test_peak_rss_is_in_bytes():
    peak = peak_rss_bytes()
    # The kernel's own peak (KiB), read a moment apart: equal up to what was allocated
    # between the two reads, and far from the 1024x of a unit mistake.
    kernel_peak = vm_kib("VmHWM") * 1024
    assert 0.5 * kernel_peak <= peak <= 2 * kernel_peak
    assert peak_rss_bytes() >= peak  # a peak never goes down
