"""benchmarks/levers.py: one static lever's values measured in turn, each in its own process."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import levers  # noqa: E402


def test_quick_unroll_ab_measures_each_value_and_their_ratio(tmp_path):
    argv = ["gru", "4", "8", "--K", "2", "--lever", "unroll", "--values", "1", "3"]
    levers.main([*argv, "--rounds", "1", "--quick", "--out", str(tmp_path)])
    report = json.loads((tmp_path / "gru_b4_h8_k2_unroll.json").read_text())
    assert report["lever"] == "unroll" and report["values"] == [1, 3]
    [entry] = report["rounds"]
    first, other = entry["rows"]["1"], entry["rows"]["3"]
    assert first["config_steps_per_s"] > 0 and first["compile_s"] > 0
    assert other["vs_first"] == pytest.approx(
        other["config_steps_per_s"] / first["config_steps_per_s"]
    )
    assert report["median"]["3"]["vs_first"] == pytest.approx(other["vs_first"])
    table = (tmp_path / "gru_b4_h8_k2_unroll.md").read_text()
    assert f"| 0 | {first['config_steps_per_s']:.1f} ({first['compile_s']:.1f}) |" in table


def test_a_value_the_lever_does_not_take_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_:
        levers.main(["gru", "4", "8", "--lever", "unroll", "--values", "many"])
    assert exit_.value.code == 2
    assert "--values: not values of unroll: many" in capsys.readouterr().err
