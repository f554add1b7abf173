"""The `jaxtune` command line: parses arguments and calls one library function per command."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from jaxtune.compile_cache import ENV as COMPILE_CACHE_ENV

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Train a whole hyperparameter sweep of sequence classifiers as one program.",
)


# sweep, resume and refine: where compiled programs are kept (compile_cache.py).
COMPILE_CACHE = typer.Option(
    None,
    "--compile-cache",
    envvar=COMPILE_CACHE_ENV,
    help="where compiled programs are kept for later sweeps, or off "
    "[default: ~/.cache/jaxtune/xla]",
)


class UserError(Exception):
    """Bad input from the user: reported as one line with exit code 2."""


@app.callback()
def _root() -> None:
    """jaxtune: vectorized hyperparameter sweeps for RNN/CNN text classifiers."""


@app.command()
def sweep(
    spec: Path = typer.Argument(..., help="sweep spec (YAML)"),
    out: Path | None = typer.Option(None, "--out", help="sweep directory [default: runs/NAME]"),
    overwrite: bool = typer.Option(False, "--overwrite", help="replace results already in --out"),
    data_dir: Path | None = typer.Option(
        None,
        "--data-dir",
        envvar="JAXTUNE_DATA_DIR",
        help="where data files named in the spec are (e.g. a copy of shared/data)",
    ),
    skip_bad_lines: bool = typer.Option(
        False, "--skip-bad-lines", help="skip malformed data lines (counted in the plan)"
    ),
    storage: str | None = typer.Option(
        None, "--storage", help="Optuna storage URL [default: sqlite:///OUT/study.db]"
    ),
    wandb: str = typer.Option(
        "offline",
        "--wandb",
        envvar="JAXTUNE_WANDB",
        help="W&B tracking: offline (files in OUT/wandb), online or disabled",
    ),
    compile_cache: str | None = COMPILE_CACHE,
    debug: bool = typer.Option(False, "--debug", help="show tracebacks"),
) -> None:
    """Run every config of SPEC, a population per static signature, and rank them."""
    with _errors(debug):
        from jaxtune.spec import load_spec

        if wandb not in ("offline", "online", "disabled"):
            raise UserError(f"--wandb: expected offline, online or disabled, found {wandb!r}")
        parsed = load_spec(spec)
        parsed = _skipping_bad_lines(parsed, skip_bad_lines)
        directory = out if out is not None else Path("runs") / parsed.name
        _run_and_rank(
            parsed,
            directory,
            overwrite=overwrite,
            data_dir=data_dir,
            storage=storage,
            wandb_mode=wandb,
            compile_cache=compile_cache,
        )


@app.command()
def resume(
    directory: Path = typer.Argument(..., help="the directory of a killed or stopped sweep"),
    n_more: int = typer.Option(
        0, "--n-more", min=0, help="add N configs (method random or bayes; also when finished)"
    ),
    compile_cache: str | None = COMPILE_CACHE,
    debug: bool = typer.Option(False, "--debug", help="show tracebacks"),
) -> None:
    """Continue an unfinished sweep where it stopped, with the options it was started with.

    Populations whose results are on disk are skipped; the one that was training restarts
    from its newest snapshot. The results equal those of an uninterrupted run. --n-more N
    extends a sweep (finished or not) by N configs in the same study.
    """
    with _errors(debug):
        from jaxtune.directory import load_sweep_spec, read_run_options
        from jaxtune.search.base import check_extensible

        options = read_run_options(directory, finished_ok=n_more > 0)
        parsed = load_sweep_spec(directory)
        if n_more:
            check_extensible(parsed)  # a method --n-more cannot extend fails here, as one line
        parsed = _skipping_bad_lines(parsed, options.skip_bad_lines)
        _run_and_rank(
            parsed,
            directory,
            data_dir=options.data_dir,
            storage=options.storage,
            wandb_mode=options.wandb,
            resume=True,
            extensions=(*options.extensions, *([n_more] if n_more else [])),
            compile_cache=compile_cache,
        )


@app.command()
def worker(
    spec: Path = typer.Argument(..., help="sweep spec (YAML), the same for every worker"),
    storage: str = typer.Option(
        ..., "--storage", help="the shared study's database, e.g. postgresql://USER@HOST:PORT/DB"
    ),
    study: str | None = typer.Option(None, "--study", help="[default: the spec's name]"),
    out: Path | None = typer.Option(
        None, "--out", help="this worker's own sweep directory [default: runs/NAME/worker-HOST-PID]"
    ),
    batch: int = typer.Option(8, "--batch", min=1, help="trials claimed at a time"),
    heartbeat: int = typer.Option(5, "--heartbeat", min=1, help="seconds between heartbeats"),
    grace: int = typer.Option(
        30, "--grace", min=1, help="seconds without a heartbeat before a trial is re-queued"
    ),
    data_dir: Path | None = typer.Option(
        None, "--data-dir", envvar="JAXTUNE_DATA_DIR", help="where data files are"
    ),
    wandb: str = typer.Option("offline", "--wandb", envvar="JAXTUNE_WANDB", help="W&B mode"),
    compile_cache: str | None = COMPILE_CACHE,
    debug: bool = typer.Option(False, "--debug", help="show tracebacks"),
) -> None:
    """Join the sweep of SPEC shared through --storage: claim waiting trials a batch at a
    time, train them, repeat until none is left (any number of workers, any machines)."""
    with _errors(debug):
        import os
        import socket

        from jaxtune.search.shared import METHODS
        from jaxtune.spec import load_spec
        from jaxtune.sweeping import Worker

        if wandb not in ("offline", "online", "disabled"):
            raise UserError(f"--wandb: expected offline, online or disabled, found {wandb!r}")
        if grace <= heartbeat:
            raise UserError(
                f"--grace: must be longer than --heartbeat ({heartbeat} s), found {grace}"
            )
        parsed = load_spec(spec)
        if parsed.method not in METHODS:
            raise UserError(
                f"{spec}: method: jaxtune worker shares {', '.join(METHODS)} and named "
                f"configs; found {parsed.method}"
            )
        directory = (
            out or Path("runs") / parsed.name / f"worker-{socket.gethostname()}-{os.getpid()}"
        )
        _run_and_rank(
            parsed,
            directory,
            data_dir=data_dir,
            storage=storage,
            wandb_mode=wandb,
            compile_cache=compile_cache,
            worker=Worker(study, batch, heartbeat, grace),
        )


def _skipping_bad_lines(spec, skip: bool):
    """The spec with data.skip_bad_lines set when --skip-bad-lines (or run.json) says so."""
    import dataclasses

    if not skip:
        return spec
    return dataclasses.replace(spec, data=dataclasses.replace(spec.data, skip_bad_lines=True))


def _run_and_rank(spec, directory: Path, compile_cache: str | None = None, **options) -> None:
    from jaxtune.api import run
    from jaxtune.console import RichDisplay
    from jaxtune.study import storage_url

    display = RichDisplay()
    outcome = run(spec, directory, display=display, compile_cache=compile_cache, **options)
    display.ranking(outcome.records, spec.metric, task=spec.task)
    spent = sum(r["epochs_run"] for r in outcome.records)
    planned = sum(r.get("evaluations_planned", r["epochs_run"]) for r in outcome.records)
    display.console.print(
        f"{len(outcome.records)} configs in {outcome.seconds:.1f}s, {spent} config-epochs "
        f"of the {planned} their budgets hold ({spent / max(planned, 1):.0%}); "
        f"results: {outcome.directory / 'results.jsonl'}; Optuna study "
        f"{spec.name!r} in {storage_url(outcome.directory, options.get('storage'))}"
    )


@app.command()
def refine(
    directory: Path = typer.Argument(..., help="a finished sweep directory"),
    top: int = typer.Option(2, "--top", min=1, help="how many of the most sensitive hparams"),
    out: Path | None = typer.Option(None, "--out", help="sweep directory [default: runs/NAME]"),
    data_dir: Path | None = typer.Option(
        None, "--data-dir", envvar="JAXTUNE_DATA_DIR", help="[default: the sweep's own]"
    ),
    storage: str | None = typer.Option(None, "--storage", help="Optuna storage URL"),
    dry_run: bool = typer.Option(False, "--dry-run", help="write the follow-up spec, do not run"),
    wandb: str = typer.Option("offline", "--wandb", envvar="JAXTUNE_WANDB", help="W&B mode"),
    compile_cache: str | None = COMPILE_CACHE,
    overwrite: bool = typer.Option(False, "--overwrite", help="replace results already in --out"),
    debug: bool = typer.Option(False, "--debug", help="show tracebacks"),
) -> None:
    """Sweep the most sensitive hyperparameters of DIRECTORY again, narrowed around the best."""
    with _errors(debug):
        import yaml

        from jaxtune.layout import REFINE_FILE
        from jaxtune.refine import refine_spec
        from jaxtune.results import recorded_data_dir

        _require_finished_sweep(directory)
        data_dir = data_dir or recorded_data_dir(directory)
        try:
            document, found = refine_spec(directory, top, data_dir=data_dir)
        except ValueError as error:
            raise UserError(str(error)) from None
        path = directory / REFINE_FILE
        path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        for s in found:
            scores = ", ".join(f"{v}: {score:.4f}" for v, score in s.scores.items())
            print(f"{s.name}: spread {s.spread:.4f} (best {s.best}; {scores})")
        print(f"follow-up spec: {path}")
        if not dry_run:
            sweep(
                path,
                out=out,
                overwrite=overwrite,
                data_dir=data_dir,
                skip_bad_lines=False,
                storage=storage,
                wandb=wandb,
                compile_cache=compile_cache,
                debug=debug,
            )


@app.command()
def final(
    directory: Path = typer.Argument(..., help="a finished sweep directory"),
    top: int = typer.Option(1, "--top", min=1, help="also evaluate the next best configs"),
    force: bool = typer.Option(False, "--force", help="evaluate again (recorded in the report)"),
    data_dir: Path | None = typer.Option(
        None, "--data-dir", envvar="JAXTUNE_DATA_DIR", help="[default: the sweep's own]"
    ),
    debug: bool = typer.Option(False, "--debug", help="show tracebacks"),
) -> None:
    """Evaluate the best config's best-epoch params on the test split, exactly once."""
    with _errors(debug):
        from jaxtune.final import FinalError, result_line, run_final
        from jaxtune.layout import FINAL_FILE
        from jaxtune.results import recorded_data_dir
        from jaxtune.tasks import task_of

        _require_finished_sweep(directory)
        data_dir = data_dir or recorded_data_dir(directory)
        try:
            outcome = run_final(directory, top=top, force=force, data_dir=data_dir)
        except FinalError as error:
            raise UserError(str(error)) from None
        document = outcome.document
        if not outcome.evaluated:
            print(
                f"already evaluated at {document['evaluated_at']} (--force to evaluate again, "
                "which the report records):"
            )
        task = task_of(document.get("task", "classify"))  # older final.json: classify
        for row in document["top"]:
            print(result_line(row, task))
        print(f"recorded in {directory / FINAL_FILE}")


@app.command()
def report(
    directory: Path = typer.Argument(..., help="a sweep directory (spec.yaml, results.jsonl)"),
    storage: str | None = typer.Option(
        None, "--storage", help="gather the workers' study of this database into DIRECTORY first"
    ),
    study: str | None = typer.Option(None, "--study", help="the workers' study (with --storage)"),
    debug: bool = typer.Option(False, "--debug", help="show tracebacks"),
) -> None:
    """Write DIRECTORY/report.md, a self-contained report.html and figures/*.png. With
    --storage and --study: every worker's records of that study gathered into DIRECTORY
    (then `jaxtune final DIRECTORY` evaluates the study's best once)."""
    with _errors(debug):
        from jaxtune.report import ReportError, write_report

        if (storage is None) != (study is None):
            raise UserError("--storage and --study go together (a workers' study to gather)")
        if storage is not None:
            from jaxtune.search.shared import gather

            records = gather(storage, study, directory)
            print(f"gathered {len(records)} records of study {study!r} into {directory}")
        try:
            written = write_report(directory)
        except ReportError as error:
            raise UserError(str(error)) from None
        print(f"report: {written.markdown}, {written.html} ({len(written.figures)} figures)")


@app.command()
def export(
    directory: Path = typer.Argument(..., help="a finished sweep directory"),
    trial: int | None = typer.Option(None, "--trial", help="this trial [default: the best]"),
    out: Path | None = typer.Option(
        None, "--out", help="the model directory [default: DIR/export/trial_NNNNNN]"
    ),
    debug: bool = typer.Option(False, "--debug", help="show tracebacks"),
) -> None:
    """Write one config of DIRECTORY (its params, tokenizer, labels, model card) as a model
    directory that `jaxtune predict` reads."""
    with _errors(debug):
        from jaxtune.export import ExportError, export_model

        _require_finished_sweep(directory)
        try:
            written = export_model(directory, trial, out)
        except ExportError as error:
            raise UserError(str(error)) from None
        print(f"exported to {written}")


@app.command()
def predict(
    model: Path = typer.Argument(..., help="a directory of `jaxtune export`"),
    source: str = typer.Argument("-", help="a file of texts (one a line, .csv/.tsv, .jsonl) or -"),
    column: str | None = typer.Option(None, "--column", help="the text column [default: text]"),
    batch_size: int = typer.Option(256, "--batch-size", min=1, help="texts per batch"),
    debug: bool = typer.Option(False, "--debug", help="show tracebacks"),
) -> None:
    """Classify new text: one line per text, its label and probability (tab-separated)."""
    with _errors(debug):
        from jaxtune.export import ExportError, Model, read_texts

        try:
            texts = read_texts(source, column)
            loaded = Model(model)
        except ExportError as error:
            raise UserError(str(error)) from None
        for label, probability in loaded.predict(texts, batch_size):
            print(f"{label}\t{probability:.4f}")


@app.command()
def bench(
    quick: bool = typer.Option(False, "--quick", help="tiny sizes: checks the harness in minutes"),
    out: Path = typer.Option(Path("benchmarks/results"), "--out", help="where JSON + Markdown go"),
    architectures: list[str] | None = typer.Option(None, "--architecture", help="repeatable"),
    debug: bool = typer.Option(False, "--debug", help="show tracebacks"),
) -> None:
    """Measure throughput: population vs one at a time vs per-process trials vs PyTorch."""
    with _errors(debug):
        import dataclasses

        from jaxtune.bench.harness import QUICK, Settings
        from jaxtune.bench.throughput import run_benchmark
        from jaxtune.space import ARCHITECTURES

        settings = QUICK if quick else Settings()
        if architectures:
            unknown = sorted(set(architectures) - set(ARCHITECTURES))
            if unknown:
                raise UserError(
                    f"--architecture: unknown {', '.join(unknown)}; "
                    f"allowed: {', '.join(ARCHITECTURES)}"
                )
            settings = dataclasses.replace(settings, architectures=tuple(architectures))
        run_benchmark(settings, out)
        print((out / "throughput.md").read_text())


def _require_finished_sweep(directory: Path) -> None:
    from jaxtune.layout import RESULTS_FILE, SPEC_FILE

    if not (directory / RESULTS_FILE).is_file() or not (directory / SPEC_FILE).is_file():
        raise UserError(f"{directory}: not a finished sweep (no {RESULTS_FILE} or spec.yaml)")


class _errors:
    """Turn user errors into one line on stderr and exit code 2 (tracebacks with --debug)."""

    def __init__(self, debug: bool):
        self.debug = debug

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        from jaxtune.api import SweepError
        from jaxtune.data.examples import DataError
        from jaxtune.spec import SpecError
        from jaxtune.values import SpaceError

        if error is None or self.debug:
            return False
        if isinstance(error, SpecError | SpaceError | DataError | UserError | SweepError):
            print(f"error: {error}", file=sys.stderr)
            raise typer.Exit(code=2)
        return False


def main() -> None:
    app()
