"""`benchmarks/workers.py`: its sweep is the 32 configs it names, and the table."""

from __future__ import annotations

import yaml

from jaxtune.bench.workers import SPEC, markdown
from jaxtune.search.samplers import sample
from jaxtune.spec import parse_spec


def test_the_benchmark_sweep_has_32_configs_in_one_static_group():
    spec = parse_spec(yaml.safe_load(SPEC.read_text()), str(SPEC))
    trials, _ = sample(spec)
    assert len(trials) == 32
    assert len({t.config["architecture"] for t in trials}) == 1


def test_the_table_shows_each_run_and_the_ratio():
    result = {
        "quick": False,
        "machine": "cpu",
        "configs": 32,
        "batch": 8,
        "runs": {
            "one worker": {"wall_seconds": 300.0, "trials_per_worker": [32]},
            "two workers": {"wall_seconds": 160.0, "trials_per_worker": [16, 16]},
        },
        "speedup": 300.0 / 160.0,
    }
    table = markdown(result)
    assert "| one worker | 300 | 32 |" in table and "| two workers | 160 | 16, 16 |" in table
    assert "Two workers on two cores: 1.88x one worker on one core." in table
