"""directory.py: claiming and preparing a sweep directory, and run.json's options.

test_cli.py checks the refusals' messages through `jaxtune sweep`; this file checks what
each step deletes and keeps, and the run options' round trip.
"""

import dataclasses
import json

import pytest

from jaxtune.directory import (
    RunOptions,
    claim_directory,
    prepare_directory,
    read_run_options,
    write_run_options,
)
from jaxtune.layout import (
    DATA_CACHE,
    EARLIER_SWEEP,
    RESULTS_FILE,
    RUN_FILE,
    SNAPSHOTS_DIR,
    SPEC_FILE,
    SWEEP_FILE,
)
from jaxtune.spec import SpecError, load_spec


def fill(directory, names):
    """Each name as a file, or as a folder holding a file when it has no suffix."""
    for name in names:
        path = directory / name
        if "." in name:
            path.write_text(name)
        else:
            (path / "population_000").mkdir(parents=True)
            (path / "population_000" / "data").write_text("x")


def test_claim_creates_missing_parents(tmp_path):
    out = tmp_path / "runs" / "a" / "sweep"
    claim_directory(out, overwrite=False)
    assert out.is_dir() and list(out.iterdir()) == []


def test_an_empty_or_unrelated_directory_is_claimed_as_it_is(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    claim_directory(tmp_path, overwrite=False)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_snapshots_alone_mark_an_unfinished_sweep(tmp_path):
    (tmp_path / SNAPSHOTS_DIR).mkdir()
    with pytest.raises(SpecError, match="holds an unfinished sweep"):
        claim_directory(tmp_path, overwrite=False)


def test_claim_with_overwrite_drops_only_the_data_cache(tmp_path):
    kept = [RESULTS_FILE, SWEEP_FILE, SPEC_FILE, *EARLIER_SWEEP]
    fill(tmp_path, [*DATA_CACHE, *kept])
    claim_directory(tmp_path, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(set(kept))


def test_prepare_with_overwrite_replaces_the_earlier_sweep_and_copies_the_spec(tmp_path):
    spec_path = tmp_path / "new.yaml"
    spec_path.write_text("name: fresh\n")
    out = tmp_path / "out"
    out.mkdir()
    fill(out, [*EARLIER_SWEEP, RESULTS_FILE, SPEC_FILE, "notes.txt"])
    prepare_directory(out, load_spec(spec_path), overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == sorted([SPEC_FILE, "notes.txt"])
    assert (out / SPEC_FILE).read_text() == "name: fresh\n"


def test_prepare_without_overwrite_keeps_other_files_but_not_results(tmp_path):
    spec_path = tmp_path / "new.yaml"
    spec_path.write_text("name: fresh\n")
    out = tmp_path / "out"
    out.mkdir()
    fill(out, [RUN_FILE, RESULTS_FILE])
    prepare_directory(out, load_spec(spec_path), overwrite=False)
    assert sorted(p.name for p in out.iterdir()) == sorted([RUN_FILE, SPEC_FILE])


def test_run_options_round_trip(tmp_path):
    (tmp_path / SPEC_FILE).write_text("name: x\n")
    options = RunOptions(
        data_dir="/data",
        storage="sqlite:///s.db",
        wandb="disabled",
        skip_bad_lines=True,
        seconds=12.5,
        extensions=[2, 3],
    )
    write_run_options(tmp_path, options)
    assert json.loads((tmp_path / RUN_FILE).read_text()) == dataclasses.asdict(options)
    assert read_run_options(tmp_path) == options


def test_run_options_ignore_unknown_keys_and_default_missing_ones(tmp_path):
    (tmp_path / SPEC_FILE).write_text("name: x\n")
    (tmp_path / RUN_FILE).write_text(json.dumps({"data_dir": "d", "from_the_future": 1}))
    assert read_run_options(tmp_path) == RunOptions(data_dir="d")


def test_a_finished_sweep_is_read_when_asked(tmp_path):
    (tmp_path / SPEC_FILE).write_text("name: x\n")
    write_run_options(tmp_path, RunOptions(seconds=3.0))
    (tmp_path / SWEEP_FILE).write_text("{}")
    with pytest.raises(SpecError, match="the sweep already finished"):
        read_run_options(tmp_path)
    assert read_run_options(tmp_path, finished_ok=True) == RunOptions(seconds=3.0)


def test_run_json_without_the_spec_is_not_a_sweep_directory(tmp_path):
    write_run_options(tmp_path, RunOptions())
    with pytest.raises(SpecError) as caught:
        read_run_options(tmp_path)
    assert str(caught.value) == (
        f"{tmp_path}: not a jaxtune sweep directory (no {SPEC_FILE} or {RUN_FILE})"
    )
