"""The Python API: `jaxtune.sweep(spec, ...)` runs a sweep and `jaxtune.load(DIR)` reopens
one, each a `Sweep` (records, best, ranking, report, final). The CLI's `sweep` and
`resume` run through `run` here, so both are one code path.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from jaxtune.layout import RESULTS_FILE, SPEC_FILE


class SweepError(ValueError):
    """A sweep that cannot be run or read: one line saying what and where."""


@dataclasses.dataclass(frozen=True)
class TextData:
    """Examples in memory: each split (texts, labels); a missing val or test split is
    carved from train (`data.holdout`). Labels as the task reads them: a class (a string
    or an integer) per text; for tag a list of tags per text, one per token; for ctc a
    target string (read by character) or a list of labels.

    The sweep directory keeps them as JSONL files (`data-<hash>/`), which its spec names,
    so `resume`, `final` and `report` read the same examples.
    """

    train: tuple[Sequence[str], Sequence[Any]]
    val: tuple[Sequence[str], Sequence[Any]] | None = None
    test: tuple[Sequence[str], Sequence[Any]] | None = None

    @classmethod
    def from_arrays(cls, train, val=None, test=None) -> TextData:
        """Already tokenized examples: each split (tokens [N, T] int, lengths [N], labels),
        the first `length` ids of a row its tokens. Each id becomes one word of a text, so
        the tokenizer numbers them again (its vocabulary: `data.min_frequency`,
        `max_vocab_size`); what a model learns does not depend on the numbering.
        """

        def texts(split):
            if split is None:
                return None
            tokens, lengths, labels = split
            rows = [
                " ".join(str(int(t)) for t in row[: int(n)])
                for row, n in zip(tokens, lengths, strict=True)
            ]
            return rows, [_plain(label) for label in labels]

        return cls(texts(train), texts(val), texts(test))

    def splits(self) -> dict[str, tuple[Sequence[str], Sequence[Any]]]:
        named = {"train": self.train, "val": self.val, "test": self.test}
        return {name: split for name, split in named.items() if split is not None}

    def write(self, folder: Path, task: str) -> dict[str, Any]:
        """The splits as JSONL under `folder`; returns the data section's source keys."""
        from jaxtune.data.sequences import LABEL_KEYS  # the task's JSONL key for labels

        lines = {}
        for name, (texts, labels) in self.splits().items():
            if len(texts) != len(labels):
                raise SweepError(
                    f"TextData.{name}: found {len(texts)} texts and {len(labels)} labels; "
                    "expected one label per text"
                )
            lines[name] = "".join(
                json.dumps({"text": text, LABEL_KEYS[task]: _plain(label)}) + "\n"
                for text, label in zip(texts, labels, strict=True)
            )
        digest = hashlib.sha256(json.dumps(lines, sort_keys=True).encode()).hexdigest()[:12]
        target = folder / f"data-{digest}"  # named by its content: nothing is overwritten
        target.mkdir(parents=True, exist_ok=True)
        section = {"format": "jsonl", "text_column": "text", "label_column": LABEL_KEYS[task]}
        for name, text in lines.items():
            path = target / f"{name}.jsonl"
            if not path.is_file():
                path.write_text(text, encoding="utf-8")
            section[name] = str(path.resolve())
        return section


def _plain(label):
    """A label as JSON holds it (numpy scalars and arrays become numbers and lists)."""
    if hasattr(label, "tolist"):
        return label.tolist()
    if isinstance(label, tuple):
        return list(label)
    return label


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


def is_path(spec) -> bool:
    return isinstance(spec, Path) or (
        "\n" not in str(spec) and str(spec).endswith((".yaml", ".yml"))
    )


def spec_of(spec: str | Path | Mapping[str, Any]):
    """A SweepSpec from a path, a YAML string or a mapping (SpecError when bad)."""
    from jaxtune.spec import load_spec, parse_spec

    if isinstance(spec, Mapping):
        return parse_spec(dict(spec), "<dict>")
    if is_path(spec):
        return load_spec(spec)
    return parse_spec(yaml.safe_load(str(spec)), "<yaml>")


def with_data(spec, data: TextData, out: str | Path | None) -> tuple[dict[str, Any], Path]:
    """The spec's document with its data section reading `data`, and the sweep directory
    (`out`, default runs/NAME) under which `data` is written."""
    from jaxtune.spec.data import PRESETS
    from jaxtune.spec.data_section import FILE_KEYS

    # The keys that say where examples come from: in-memory data replaces them.
    source_keys = ("source", *FILE_KEYS)

    if isinstance(spec, Mapping):
        document = json.loads(json.dumps(dict(spec)))  # a copy
    elif is_path(spec):
        document = yaml.safe_load(Path(spec).read_text(encoding="utf-8"))
    else:
        document = yaml.safe_load(str(spec))
    # Everything but the data section is checked before anything is written.
    parsed = spec_of({**document, "data": None})
    directory = Path(out) if out is not None else Path("runs") / parsed.name
    section = {k: v for k, v in (document.get("data") or {}).items() if k not in source_keys}
    if section.get("name") in PRESETS or section.get("name") == "synthetic":
        del section["name"]
    section.update(data.write(directory, parsed.task))
    section.setdefault("name", "memory")
    return {**document, "data": section}, directory


def with_models(spec, model) -> str | Path | Mapping[str, Any]:
    """Register `model` (a flax.linen.Module subclass, or a list of them) as architectures,
    each also named by its class name; a spec that names no architecture gets the one
    model's ('module:Class' in its spec.yaml)."""
    from jaxtune.models.user import ContractError, register
    from jaxtune.space import ALIASES

    models = list(model) if isinstance(model, list | tuple) else [model]
    try:
        paths = [register(m, alias=getattr(m, "__name__", None)).path for m in models]
    except ContractError as error:
        raise SweepError(f"model: {error}") from None
    document = _document(spec)
    sections = [document.get(s) or {} for s in ("model", "parameters")]
    sections += list((document.get("configs") or {}).values())
    named = any(ALIASES.get(str(k)) == "architecture" for section in sections for k in section)
    if named:
        return spec
    if len(paths) > 1:
        raise SweepError(
            f"model: {len(paths)} modules given and the spec names no architecture; sweep "
            f"them with parameters: {{architecture: {{values: [{', '.join(paths)}]}}}}"
        )
    model_section = {**(document.get("model") or {}), "architecture": paths[0]}
    return {**document, "model": model_section}


def _document(spec) -> dict[str, Any]:
    """A spec's YAML document as a dict (a file's named after it, as its sweep would be)."""
    if isinstance(spec, Mapping):
        return json.loads(json.dumps(dict(spec)))  # a copy
    if is_path(spec):
        document = yaml.safe_load(Path(spec).read_text(encoding="utf-8")) or {}
        return {"name": Path(spec).stem, **document}
    return yaml.safe_load(str(spec)) or {}


def sweep(
    spec: str | Path | Mapping[str, Any],
    *,
    data: TextData | None = None,
    model=None,
    out: str | Path | None = None,
    overwrite: bool = False,
    data_dir: str | Path | None = None,
    storage: str | None = None,
    wandb: str = "offline",
    compile_cache: str | None = None,
    display=None,
) -> Sweep:
    """Run every config of `spec` (a path, a YAML string or a dict) and return the Sweep.

    data: examples in memory (TextData), instead of the spec's data section's sources.
    model: your own Flax module (a class, or a list of them; README "Your own model"), named
    in the spec by its 'module:Class' or its class name; a spec that names no
    architecture sweeps the one module given.
    out: the sweep directory (default runs/NAME); the other options are the CLI's
    (`jaxtune sweep --help`); display: a progress display (default: rich, in a terminal
    or a notebook).
    """
    if wandb not in ("offline", "online", "disabled"):
        raise SweepError(f"wandb: expected offline, online or disabled, found {wandb!r}")
    if model is not None:
        spec = with_models(spec, model)
    if data is None:
        parsed = spec_of(spec)
        directory = Path(out) if out is not None else Path("runs") / parsed.name
    else:
        spec, directory = with_data(spec, data, out)
        parsed = spec_of(spec)
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
    from jaxtune.directory import load_sweep_spec
    from jaxtune.results import rank, read_results

    directory = Path(directory)
    for needed in (SPEC_FILE, RESULTS_FILE):
        if not (directory / needed).is_file():
            raise SweepError(f"{directory}: no {needed}; expected a sweep directory")
    spec = load_sweep_spec(directory)
    return Sweep(directory, spec, rank(read_results(directory), spec.metric, spec.goal))
