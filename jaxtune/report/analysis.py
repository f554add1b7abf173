"""What a report says about a finished sweep, as plain data: no plotting, no formatting."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from jaxtune import space
from jaxtune.layout import FINAL_FILE, RESULTS_FILE, SPEC_FILE, SWEEP_FILE
from jaxtune.refine import sensitivities, value_scores
from jaxtune.results import best_value, rank, read_results, varying_hparams
from jaxtune.space import ARCHITECTURES, HPARAMS
from jaxtune.tasks import TASKS, Task, task_of

CELL_TYPE = "architecture"


class ReportError(ValueError):
    """A sweep directory the report cannot read, as one line."""


@dataclasses.dataclass(frozen=True)
class Sweep:
    directory: Path
    name: str
    method: str
    metric: str
    goal: str
    records: list[dict[str, Any]]  # ranked, best first; configs without a finite metric last
    swept: list[str]  # hyperparameters with two or more values among the configs
    drawn: dict[str, str] = dataclasses.field(default_factory=dict)  # name -> distribution kind
    task: Task = TASKS["classify"]  # the spec's: which validation metrics the records hold

    @property
    def ranking_metrics(self) -> list[str]:
        """The validation metrics a ranking shows: the sweep's metric, the loss, then the
        task's others in its order."""
        return shown_metrics(self.task, self.metric)

    @property
    def scored(self) -> list[dict[str, Any]]:
        return [r for r in self.records if best_value(r, self.metric) is not None]

    @property
    def has_studies(self) -> bool:
        return any(r.get("studies") for r in self.records)


def load_sweep(directory: Path) -> Sweep:
    """Read DIR/spec.yaml (metric, goal, swept names) and DIR/results.jsonl."""
    from jaxtune.spec.resolve import read_resolved

    if not directory.is_dir():
        raise ReportError(f"{directory}: no such directory")
    for needed in (RESULTS_FILE, SPEC_FILE):
        if not (directory / needed).is_file():
            raise ReportError(f"{directory}: not a sweep directory (no {needed})")
    spec = read_resolved(directory)
    try:
        records = read_results(directory)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ReportError(f"{directory / RESULTS_FILE}: not JSON lines: {error}") from None
    if any(not isinstance(r, dict) or "hparams" not in r for r in records):
        raise ReportError(f"{directory / RESULTS_FILE}: a line is not a result record")
    if not records:
        raise ReportError(
            f"{directory / RESULTS_FILE}: no results yet (the first population has not finished)"
        )
    drawn = {n: d.kind for n, d in getattr(spec, "distributions", {}).items()}
    spec_order = [*spec.parameters, *drawn]
    candidates = spec_order + [n for n in varying_hparams(records) if n not in spec_order]
    # A value a cell type ignores is reset to its default: that alone does not make it swept.
    swept = [n for n in candidates if len(distinct_values(applying(records, n), n)) >= 2]
    return Sweep(
        directory=directory,
        name=spec.name,
        method=spec.method,
        metric=spec.metric,
        goal=spec.goal,
        records=rank(records, spec.metric, spec.goal),
        swept=swept,
        drawn=drawn,
        task=task_of(spec.task),
    )


def shown_metrics(task: Task, first: str) -> list[str]:
    """`first` (a `val_` metric), then val_loss, then the task's other validation metrics."""
    return task.shown(first)


def _key(value: Any) -> str:
    return json.dumps(value)  # the key refine.sensitivities scores values by


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def distinct_values(records: Sequence[Mapping[str, Any]], name: str) -> list[Any]:
    """Values of one hyperparameter: ascending if all numeric, else in trial order (the spec's)."""
    seen: dict[str, Any] = {}
    for record in sorted(records, key=lambda r: r["trial_id"]):
        if name in record["hparams"]:
            seen.setdefault(_key(record["hparams"][name]), record["hparams"][name])
    values = list(seen.values())
    if values and all(is_number(v) for v in values):
        values.sort()
    return values


def axis_scale(values: Sequence[Any], distribution: str | None = None) -> str:
    """categorical | log (positive ladder over >= 1 decade) | symlog (the same plus 0) | linear.

    Values drawn from a distribution (method random) follow it: log for the log kinds.
    """
    if len(values) < 2 or not all(is_number(v) for v in values):
        return "categorical"
    if distribution is not None and distribution != "categorical":
        return "log" if "log" in distribution and min(values) > 0 else "linear"
    positive = [v for v in values if v > 0]
    spans_decade = len(positive) >= 2 and max(positive) / min(positive) >= 10
    if spans_decade and len(positive) == len(values):
        return "log"
    if spans_decade and len(positive) == len(values) - 1 and min(values) == 0:
        return "symlog"
    return "linear"


@dataclasses.dataclass(frozen=True)
class Effect:
    """One hyperparameter's effect: the best metric of the configs using each of its values."""

    name: str
    values: list[Any]
    scores: list[float | None]  # per value; None when every config with it failed
    counts: list[int]  # configs per value
    best: Any  # the best config's value (starred); None if nothing finished
    spread: float | None  # max - min of the scores (refine.sensitivities)
    scale: str  # see axis_scale
    study: bool  # True: only the configs of this hyperparameter's one-at-a-time study

    @property
    def best_index(self) -> int | None:
        if self.spread is None:
            return None
        return next(i for i, v in enumerate(self.values) if _key(v) == _key(self.best))

    @property
    def best_score(self) -> float | None:
        index = self.best_index
        return None if index is None else self.scores[index]

    @property
    def finite_scores(self) -> list[float]:
        return [s for s in self.scores if s is not None]


def applies(record: Mapping[str, Any], name: str) -> bool:
    """Whether the config's cell type uses NAME (a CNN has no hidden_size)."""
    return space.applies(name, record["hparams"].get(CELL_TYPE))


def applying(records: Sequence[Mapping[str, Any]], name: str) -> list[Any]:
    return [r for r in records if applies(r, name)]


def study_records(sweep: Sweep, name: str) -> tuple[list[dict[str, Any]], bool]:
    """The configs that show NAME's effect: its one-at-a-time study if recorded, else all;
    only those whose cell type uses NAME."""
    records = applying(sweep.records, name)
    if sweep.has_studies:
        members = [r for r in records if name in (r.get("studies") or ())]
        if len(distinct_values(members, name)) >= 2:
            return members, True
    return records, False


def effects(sweep: Sweep) -> list[Effect]:
    """Per swept hyperparameter in sweep order (sensitivities from jaxtune.refine)."""
    out = []
    for name in sweep.swept:
        records, study = study_records(sweep, name)
        values = distinct_values(records, name)
        found = sensitivities(records, [name], sweep.metric, sweep.goal)
        # Every scored value, also when fewer than two are (no sensitivity then).
        scores = value_scores(records, name, sweep.metric, sweep.goal)
        out.append(
            Effect(
                name=name,
                values=values,
                scores=[scores.get(_key(v)) for v in values],
                counts=[sum(_key(r["hparams"][name]) == _key(v) for r in records) for v in values],
                best=found[0].best if found else None,
                spread=found[0].spread if found else None,
                scale=axis_scale(values, sweep.drawn.get(name)),
                study=study,
            )
        )
    return out


@dataclasses.dataclass(frozen=True)
class CellMatch:
    """Configs of different cell types that agree on every other swept hyperparameter."""

    shared: dict[str, Any]  # the hyperparameter values they agree on
    scores: dict[str, float | None]  # cell type -> best metric among its matching configs
    trials: dict[str, list[int]]  # cell type -> matching trial ids


def cell_matches(sweep: Sweep) -> tuple[list[str], list[CellMatch]]:
    """Cell types present and their matched groups, best group first.

    In a one-at-a-time sweep only the architecture's study is compared. A hyperparameter
    that some present cell type ignores (a CNN's hidden_size is reset to its default) is
    left out of the match; each cell type's best config then stands for it.
    """
    known = list(ARCHITECTURES)
    records, _ = study_records(sweep, CELL_TYPE)  # one-at-a-time: the architecture study
    cells = sorted(
        (str(v) for v in distinct_values(records, CELL_TYPE)),
        key=lambda c: known.index(c) if c in known else len(known),
    )
    if len(cells) < 2:
        return cells, []
    names = [n for n in sweep.swept if n != CELL_TYPE and all(space.applies(n, c) for c in cells)]
    groups: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for record in records:
        key = _key([record["hparams"].get(n) for n in names])
        groups.setdefault(key, {}).setdefault(str(record["hparams"][CELL_TYPE]), []).append(record)
    matches = []
    for key, by_cell in groups.items():
        if len(by_cell) < 2:
            continue
        pick = max if sweep.goal == "maximize" else min
        scores = {}
        for cell, members in by_cell.items():
            finite = [v for v in (best_value(r, sweep.metric) for r in members) if v is not None]
            scores[cell] = pick(finite) if finite else None
        matches.append(
            CellMatch(
                shared=dict(zip(names, json.loads(key), strict=True)),
                scores={c: scores.get(c) for c in cells},
                trials={c: [r["trial_id"] for r in by_cell.get(c, [])] for c in cells},
            )
        )
    sign = -1.0 if sweep.goal == "maximize" else 1.0

    def best_first(match: CellMatch):
        finite = [s for s in match.scores.values() if s is not None]
        return (not finite, min(sign * s for s in finite) if finite else 0.0)

    matches.sort(key=best_first)
    return cells, matches


def differing(matches: Sequence[CellMatch]) -> list[str]:
    """The shared hyperparameters whose value is not the same in every matched group."""
    if not matches:
        return []
    return [n for n in matches[0].shared if len({repr(m.shared[n]) for m in matches}) > 1]


def non_defaults(hparams: Mapping[str, Any]) -> set[str]:
    """Names whose value differs from jaxtune's default."""
    return {
        n
        for n, v in hparams.items()
        if n in HPARAMS and _key(_plain(HPARAMS[n].default)) != _key(_plain(v))
    }


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


@dataclasses.dataclass(frozen=True)
class Throughput:
    configs: int
    config_epochs: int
    seconds: float | None  # None: no sweep.json (a sweep from before it was written)
    details: dict[str, Any]  # the rest of sweep.json (populations, chunk, backend)

    @property
    def config_epochs_per_second(self) -> float | None:
        if not self.seconds or self.seconds <= 0:
            return None
        return self.config_epochs / self.seconds


def throughput(sweep: Sweep) -> Throughput:
    """Configs and config-epochs from results.jsonl; wall seconds from DIR/sweep.json if any."""
    document = json_document(sweep.directory / SWEEP_FILE) or {}
    seconds = document.get("seconds")
    if not (is_number(seconds) and math.isfinite(seconds)):
        seconds = None
    return Throughput(
        configs=len(sweep.records),
        config_epochs=sum(int(r.get("epochs_run") or 0) for r in sweep.records),
        seconds=None if seconds is None else float(seconds),
        details={
            k: v
            for k, v in document.items()
            if k not in ("name", "seconds", "configs", "config_epochs")
        },
    )


def json_document(path: Path, expected: type = dict) -> Any:
    """A JSON file of the sweep directory (an object, or `expected`), None if absent."""
    if not path.is_file():
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ReportError(f"{path}: not JSON: {error}") from None
    if not isinstance(document, expected):
        what = "a JSON object" if expected is dict else f"a JSON {expected.__name__}"
        raise ReportError(f"{path}: expected {what}, found {type(document).__name__}")
    return document


def final_evaluation(sweep: Sweep) -> dict[str, Any] | None:
    """DIR/final.json as `jaxtune final` writes it, or None if it has not been run."""
    return json_document(sweep.directory / FINAL_FILE)
