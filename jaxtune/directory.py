"""A sweep directory's lifecycle: claimed (an earlier sweep refused unless --overwrite),
prepared (the spec copied in), and the options it was started with (`run.json`), which
`jaxtune resume` reads back. layout.py names what it holds."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

from jaxtune.layout import (
    DATA_CACHE,
    EARLIER_SWEEP,
    RESULTS_FILE,
    RUN_FILE,
    SNAPSHOTS_DIR,
    SPEC_FILE,
    SWEEP_FILE,
)
from jaxtune.results import write_json
from jaxtune.spec import SpecError, SweepSpec


@dataclasses.dataclass
class RunOptions:
    """How a sweep was started (`run.json`): what `jaxtune resume` needs to continue it."""

    data_dir: str | None = None
    storage: str | None = None
    wandb: str = "offline"
    skip_bad_lines: bool = False
    seconds: float = 0.0  # wall time of earlier runs of this sweep (a resume adds its own)
    extensions: list[int] = dataclasses.field(default_factory=list)  # each --n-more N
    # budget.merge the sweep was planned with: a resume plans the same populations (a
    # sweep from before merging existed planned with none)
    merge: str = "none"
    # where the spec's own modules (models/user.py) were imported from: resume, final and
    # report find them there from any working directory
    code_path: list[str] = dataclasses.field(default_factory=list)
    # the shared study a `jaxtune worker` trained for (None: a sweep of its own)
    worker_study: str | None = None


def claim_directory(directory: Path, overwrite: bool) -> None:
    """Create the sweep directory; refuse an earlier sweep's unless `overwrite`.

    With `overwrite` only the cached vocabulary and encoded splits go here (a new sweep
    builds its own); the earlier results stay until the new spec has resolved against its
    data (`prepare_directory`), so a spec that fails there loses nothing.
    """
    if not overwrite:
        if (directory / SWEEP_FILE).exists():
            raise SpecError(
                f"{directory}: already holds a finished sweep ({SWEEP_FILE}); "
                "choose another --out or pass --overwrite"
            )
        if (directory / RESULTS_FILE).exists() or (directory / SNAPSHOTS_DIR).exists():
            raise SpecError(
                f"{directory}: holds an unfinished sweep; continue it with "
                f"`jaxtune resume {directory}`, or choose another --out or pass --overwrite"
            )
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:  # --out names a file, or a parent is not writable
        raise SpecError(
            f"{directory}: cannot create the sweep directory: {error.strerror}"
        ) from None
    if overwrite:
        for name in DATA_CACHE:
            (directory / name).unlink(missing_ok=True)


def prepare_directory(directory: Path, spec: SweepSpec, overwrite: bool) -> None:
    """Start a new sweep in a claimed directory: an earlier sweep's results go (when
    `overwrite`), and the spec is copied in."""
    if overwrite:
        for name in EARLIER_SWEEP:
            path = directory / name
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
    copy = directory / SPEC_FILE
    if not (copy.exists() and copy.samefile(spec.path)):  # rerun of a sweep from its own copy
        shutil.copyfile(spec.path, copy)
    (directory / RESULTS_FILE).unlink(missing_ok=True)


def write_run_options(directory: Path, options: RunOptions) -> None:
    write_json(directory / RUN_FILE, dataclasses.asdict(options))


def load_sweep_spec(directory: Path):
    """The spec of the sweep in `directory`, its own modules looked up where the sweep
    found them (run.json's code_path)."""
    from jaxtune.models.user import add_search_path
    from jaxtune.spec import load_spec

    path = Path(directory) / RUN_FILE
    if path.is_file():
        add_search_path(json.loads(path.read_text(encoding="utf-8")).get("code_path", []))
    return load_spec(Path(directory) / SPEC_FILE)


def read_run_options(directory: Path, *, finished_ok: bool = False) -> RunOptions:
    """How a sweep was started, for `jaxtune resume` (which extends a finished one)."""
    path = Path(directory) / RUN_FILE
    if not (Path(directory) / SPEC_FILE).is_file() or not path.is_file():
        raise SpecError(f"{directory}: not a jaxtune sweep directory (no spec.yaml or {RUN_FILE})")
    if (Path(directory) / SWEEP_FILE).is_file() and not finished_ok:
        raise SpecError(
            f"{directory}: the sweep already finished ({SWEEP_FILE}); nothing to resume "
            "(--n-more N adds configs to a random or bayes sweep)"
        )
    document = json.loads(path.read_text(encoding="utf-8"))
    if document.get("worker_study") is not None:
        raise SpecError(
            f"{directory}: a worker's directory of study {document['worker_study']!r}; a worker "
            "is not resumed: start `jaxtune worker` again (a dead worker's trials are re-queued)"
        )
    fields = {f.name for f in dataclasses.fields(RunOptions)}
    return RunOptions(**{k: v for k, v in document.items() if k in fields})
