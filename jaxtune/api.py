"""The Python API: `jaxtune.sweep(spec, ...)` runs a sweep and `jaxtune.load(DIR)` reopens
one, each a `Sweep` (records, best, ranking, report, final). The CLI's `sweep` and
`resume` run through `run` here, so both are one code path.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from jaxtune.layout import RESULTS_FILE, SPEC_FILE


class SweepError(ValueError):
    """A sweep that cannot be run or read: one line saying what and where."""


@dataclasses.dataclass
class Sweep:
    """A sweep directory: its spec and its ranked records (best first).

    `ranking()` is a pandas DataFrame when pandas is installed, else a list of dicts;
    `report()` writes report.md / report.html and returns the Markdown's path; `final()`
    evaluates the best config on the test split once (later calls return that result).
    """

    directory: Path
    spec: Any  # SweepSpec
    records: list[dict[str, Any]]
    seconds: float | None = None  # this run's wall time (None: reopened by `load`)

    @property
    def metric(self) -> str:
        return self.spec.metric

    @property
    def best(self) -> dict[str, Any] | None:
        """The best config's record (None: no config has a finite metric)."""
        from jaxtune.results import best_value

        scored = [r for r in self.records if best_value(r, self.metric) is not None]
        return scored[0] if scored else None

    def ranking(self):
        """One row per config, best first: trial, name, status, its hyperparameters that vary
        across the sweep, and the task's validation metrics at its best evaluation."""
        from jaxtune.report.analysis import varying_hparams
        from jaxtune.tasks import task_of

        names = varying_hparams(self.records)
        metrics = task_of(self.spec.task).shown(self.metric)
        rows = []
        for record in self.records:
            best = record.get("best") or {}
            rows.append(
                {
                    "trial": record["trial_id"],
                    "name": record.get("name"),
                    **{name: record["hparams"].get(name) for name in names},
                    **{metric: best.get(metric) for metric in metrics},
                    "best_epoch": record["best_epoch"],
                    "status": record["status"],
                }
            )
        try:
            import pandas
        except ImportError:
            return rows
        return pandas.DataFrame(rows)

    def report(self) -> Path:
        from jaxtune.report import write_report

        return write_report(self.directory).markdown

    def final(self, *, top: int = 1, force: bool = False) -> dict[str, Any]:
        from jaxtune.final import run_final
        from jaxtune.results import recorded_data_dir

        data_dir = recorded_data_dir(self.directory)
        return run_final(self.directory, top=top, force=force, data_dir=data_dir).document


def spec_of(spec: str | Path | Mapping[str, Any]):
    """A SweepSpec from a path, a YAML string or a mapping (SpecError when bad)."""
    from jaxtune.spec import load_spec, parse_spec

    if isinstance(spec, Mapping):
        return parse_spec(dict(spec), "<dict>")
    if isinstance(spec, Path) or "\n" not in str(spec) and str(spec).endswith((".yaml", ".yml")):
        return load_spec(spec)
    return parse_spec(yaml.safe_load(str(spec)), "<yaml>")


def sweep(
    spec: str | Path | Mapping[str, Any],
    *,
    out: str | Path | None = None,
    overwrite: bool = False,
    data_dir: str | Path | None = None,
    storage: str | None = None,
    wandb: str = "offline",
    compile_cache: str | None = None,
    display=None,
) -> Sweep:
    """Run every config of `spec` (a path, a YAML string or a dict) and return the Sweep.

    out: the sweep directory (default runs/NAME); the other options are the CLI's
    (`jaxtune sweep --help`); display: a progress display (default: rich, in a terminal
    or a notebook).
    """
    if wandb not in ("offline", "online", "disabled"):
        raise SweepError(f"wandb: expected offline, online or disabled, found {wandb!r}")
    parsed = spec_of(spec)
    directory = Path(out) if out is not None else Path("runs") / parsed.name
    options = {"overwrite": overwrite, "data_dir": data_dir, "storage": storage}
    with tempfile.TemporaryDirectory() as scratch:
        if not Path(parsed.path).is_file():
            # A dict or YAML string: the sweep directory keeps it as spec.yaml, as it keeps
            # a spec file (resume and report read it there).
            written = Path(scratch) / SPEC_FILE
            document = spec if isinstance(spec, Mapping) else yaml.safe_load(str(spec))
            written.write_text(yaml.safe_dump(dict(document), sort_keys=False), encoding="utf-8")
            parsed = dataclasses.replace(parsed, path=str(written))
        return run(
            parsed,
            directory,
            display=display,
            compile_cache=compile_cache,
            wandb_mode=wandb,
            **options,
        )


def run(spec, directory: Path, *, display=None, compile_cache: str | None = None, **options):
    """A parsed spec's sweep into `directory` (run_sweep's options), with the compile cache
    set up: the one path of `sweep`, `jaxtune sweep` and `jaxtune resume`."""
    from jaxtune.compile_cache import cache_directory, use_compile_cache
    from jaxtune.console import RichDisplay
    from jaxtune.sweeping import run_sweep

    directory_of_cache = cache_directory(compile_cache)
    try:
        use_compile_cache(directory_of_cache)
    except OSError as error:  # the default place may be read-only: then no cache
        if compile_cache is not None:
            raise SweepError(
                f"--compile-cache: cannot make {directory_of_cache}: {error.strerror}; "
                "give a writable directory, or off"
            ) from None
    display = display or RichDisplay()
    try:
        outcome = run_sweep(spec, directory, display, **options)
    finally:
        close = getattr(display, "close", None)
        if close is not None:
            close()
    return Sweep(outcome.directory, spec, outcome.records, outcome.seconds)


def load(directory: str | Path) -> Sweep:
    """Reopen a sweep directory (finished or not): its spec and its records, ranked."""
    from jaxtune.results import rank, read_results
    from jaxtune.spec import load_spec

    directory = Path(directory)
    for needed in (SPEC_FILE, RESULTS_FILE):
        if not (directory / needed).is_file():
            raise SweepError(f"{directory}: no {needed}; expected a sweep directory")
    spec = load_spec(directory / SPEC_FILE)
    return Sweep(directory, spec, rank(read_results(directory), spec.metric, spec.goal))
