"""bench/measure.py: one measurement's result dict, for a tiny case (K=2, B=4, T=8, 2 steps).

Timings are never checked, only the structure of the results and what follows from the
case: counts, rates that are the inverse of the seconds measured, the devices used. One
population is compiled here; test_bench_quick.py runs every mode in its own process.
"""

import json
import math
import os

import jax
import numpy as np
import pytest

from jaxtune.bench import measure, torch_baseline
from jaxtune.bench import workload as workload_module
from jaxtune.bench.measure import main, resolve_chunk, run_trial

CASE = {
    "architecture": "cnn",
    "filter_sizes": [2],  # one convolution: the cheapest program to compile
    "batch_size": 4,
    "hidden_size": 8,
    "embedding_dim": 8,
    "seq_len": 8,
    "vocab_size": 50,
    "num_classes": 3,
}
K, STEPS = 2, 2
TIMING = {"steps": STEPS, "repeats": 1, "target_seconds": 0.0}


def test_the_chunk_is_the_cases_or_the_sweeps_default():
    assert resolve_chunk({}) == (1 if jax.default_backend() == "cpu" else None)  # "auto"
    assert resolve_chunk({"chunk": "all"}) is None
    assert resolve_chunk({"chunk": 2}) == 2


def test_main_prints_one_line_of_the_population_measurement(capsys, monkeypatch):
    made = []

    class Recorded(measure.PopulationEpochs):
        def __init__(self, *args):
            super().__init__(*args)
            made.append(self)

    monkeypatch.setattr(measure, "PopulationEpochs", Recorded)
    main(["population", json.dumps({"case": CASE, "K": K, **TIMING})])
    [line] = capsys.readouterr().out.splitlines()
    result = json.loads(line)
    assert set(result) == {
        "K",
        "chunk",
        "devices",
        "steps_per_call",
        "calls_per_repeat",
        "seconds_per_call",
        "config_steps_per_s",
        "compile_s",
        "peak_rss_bytes",
        "xla_argument_bytes",
        "xla_temp_bytes",
        "active_after",
        "process",
    }
    assert result["K"] == K and result["steps_per_call"] == STEPS
    assert result["chunk"] == resolve_chunk(CASE)  # the sweep's default
    assert result["calls_per_repeat"] == 1  # a target of no time: one call per repeat
    assert result["config_steps_per_s"] == pytest.approx(K * STEPS / result["seconds_per_call"])
    assert result["active_after"] == K  # nothing diverged or stopped
    # A population of K uses gcd(K, devices) of the process's devices (budget.devices).
    assert result["devices"] == math.gcd(K, jax.device_count())
    assert result["process"] == {
        "cpus": len(os.sched_getaffinity(0)),
        "jax_devices": jax.device_count(),
    }
    for key in ("compile_s", "peak_rss_bytes", "xla_argument_bytes"):
        assert result[key] > 0
    # Every call trained each config one epoch of STEPS: the warm-up, then the timed calls.
    [epochs] = made
    calls = 1 + TIMING["repeats"] * result["calls_per_repeat"]
    steps = np.asarray(jax.device_get(epochs.state.train.step))
    np.testing.assert_array_equal(steps, np.full(K, calls * STEPS))


class ScriptedClock:
    """Stands in for the `time` module: perf_counter returns the given readings in turn."""

    def __init__(self, readings):
        self.readings = iter(readings)

    def perf_counter(self):
        return next(self.readings)


def test_one_at_a_time_calls_the_compiled_step_once_per_minibatch(monkeypatch):
    seen = []

    def compiled(state, split, index, weights, max_loss):
        seen.append((index.tolist(), weights.tolist()))
        return state + 1, {"loss": np.zeros(1)}

    index = np.arange(6, dtype=np.int32).reshape(3, 2)  # [S, B]
    weights = np.array([[1, 1], [1, 1], [1, 0]], np.float32)
    # Warm-up 1 s with no target: one call per repeat, the timed epoch lasting 6 s.
    monkeypatch.setattr(workload_module, "time", ScriptedClock([0.0, 1.0, 10.0, 16.0]))
    seconds = measure._time_steps(compiled, 0, None, index, weights, np.inf, 1, 0.0)
    assert seconds == pytest.approx(6.0 / len(index))  # per step, not per epoch
    one_epoch = [(index[s : s + 1].tolist(), weights[s : s + 1].tolist()) for s in range(3)]
    assert seen == one_epoch * 2  # the warm-up epoch, then the timed one


def test_a_trial_is_one_config_measured_once(monkeypatch):
    calls = []

    def sequential(case, configs_count, steps, repeats, target_seconds):
        calls.append((case, configs_count, steps, repeats, target_seconds))
        return {"configs": configs_count, "compile_s": 1.0}

    monkeypatch.setattr(measure, "measure_sequential", sequential)
    assert run_trial(CASE, 5) == {"steps": 5, "configs": 1, "compile_s": 1.0}
    assert calls == [(CASE, 1, 5, 1, 0.0)]


@pytest.mark.parametrize(
    "mode, module, function",
    [
        ("sequential", measure, "measure_sequential"),
        ("torch", torch_baseline, "measure_torch"),
    ],
)
def test_main_passes_the_payload_to_the_modes_function(capsys, monkeypatch, mode, module, function):
    calls = []

    def fake(case, configs_count, steps, repeats, target_seconds):
        calls.append((case, configs_count, steps, repeats, target_seconds))
        return {"configs": configs_count}

    monkeypatch.setattr(module, function, fake)
    main(
        [
            mode,
            json.dumps(
                {"case": CASE, "configs": 3, "steps": 4, "repeats": 2, "target_seconds": 0.5}
            ),
        ]
    )
    assert calls == [(CASE, 3, 4, 2, 0.5)]
    result = json.loads(capsys.readouterr().out)
    assert result["configs"] == 3 and set(result["process"]) == {"cpus", "jax_devices"}


def test_main_runs_a_trial_for_its_steps(capsys, monkeypatch):
    monkeypatch.setattr(measure, "run_trial", lambda case, steps: {"steps": steps, "case": case})
    main(["trial", json.dumps({"case": CASE, "steps": 7})])
    result = json.loads(capsys.readouterr().out)
    assert (result["steps"], result["case"]) == (7, CASE)


def test_an_unknown_mode_exits_naming_it():
    with pytest.raises(SystemExit, match="unknown mode 'fastest'"):
        main(["fastest", json.dumps({"case": CASE})])
