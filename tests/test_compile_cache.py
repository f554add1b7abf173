"""compile_cache.py: a later sweep of the same programs loads them from the persistent
compilation cache instead of compiling them, with the same results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from support import run_python
from test_cli import tiny_demo_spec

from jaxtune.compile_cache import cache_directory, default_directory

CLI = ["-c", "from jaxtune.cli import main; main()"]


def test_the_cache_directory_from_the_option_or_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_directory() == tmp_path / "jaxtune" / "xla"
    assert cache_directory(None) == tmp_path / "jaxtune" / "xla"
    assert cache_directory("off") is None and cache_directory("None") is None
    assert cache_directory("~/x") == Path.home() / "x"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_directory() == Path.home() / ".cache" / "jaxtune" / "xla"


def sweep(spec: Path, out: Path, cache: str, returncode: int = 0):
    return run_python(
        [*CLI, "sweep", str(spec), "--out", str(out), "--compile-cache", cache],
        cwd=spec.parent,
        returncode=returncode,
        # Every program is written, however fast it compiled: the test's are small.
        JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
    )


def read(out: Path) -> tuple[dict, list[dict]]:
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    return json.loads((out / "sweep.json").read_text())["compile_cache"], records


def curves(records: list[dict]) -> dict[int, list[float]]:
    return {r["trial_id"]: [h["val_loss"] for h in r["history"]] for r in records}


def test_a_second_sweep_loads_every_program_the_first_wrote(tmp_path):
    spec, document = tiny_demo_spec(tmp_path)
    document["parameters"] = {"learning_rate": {"values": [0.01, 0.03]}}  # one population
    spec.write_text(yaml.safe_dump(document))
    cache = tmp_path / "cache"
    sweep(spec, tmp_path / "first", str(cache))
    first, first_records = read(tmp_path / "first")
    assert first["directory"] == str(cache)
    assert first["written"] > 0 and any(cache.iterdir())
    result = sweep(spec, tmp_path / "second", str(cache))
    second, second_records = read(tmp_path / "second")
    # Every compile of the first (a program jax compiled twice in it was loaded the
    # second time) is a load now, and nothing new is written.
    assert second["loaded"] == first["written"] + first["loaded"] and second["written"] == 0
    assert second["seconds_saved"] > 0
    assert f"compile cache: {second['loaded']} program(s) loaded" in result.stdout
    assert curves(second_records) == curves(first_records)  # the same programs, bit for bit


@pytest.mark.parametrize("where", ["file/cache"])
def test_a_cache_directory_that_cannot_be_made_is_one_line(tmp_path, where):
    spec, _ = tiny_demo_spec(tmp_path)
    (tmp_path / "file").write_text("not a directory")
    result = sweep(spec, tmp_path / "out", str(tmp_path / where), returncode=2)
    [line] = result.stderr.splitlines()
    assert line.startswith(f"error: --compile-cache: cannot make {tmp_path / where}: ")
    assert not (tmp_path / "out").exists()
