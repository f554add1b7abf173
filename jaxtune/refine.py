"""A finished study's natural follow-up: narrow the most sensitive hyperparameters.

Sensitivity of a swept hyperparameter is the spread of the sweep metric across its
values, each value scored by the best config that used it. `refine` keeps every other
hyperparameter at the best config's value and sweeps, for the `top` most sensitive ones,
a narrowed set around the best value: for a numeric ladder the best value and the
midpoints to its neighbours (geometric for a ladder spanning a decade or more); for a
categorical one its best 2-3 values. The best config of the first study is part of the
new grid, so it is re-run as the reference.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from jaxtune.layout import RESULTS_FILE, SPEC_FILE
from jaxtune.results import best_value, rank, read_results


@dataclasses.dataclass(frozen=True)
class Sensitivity:
    name: str
    scores: dict[str, float]  # JSON of a value -> best metric of the configs that used it
    best: Any  # the value of the best config
    spread: float  # max - min of scores


def _key(value: Any) -> str:
    return json.dumps(value)


def sensitivities(
    records: Sequence[Mapping[str, Any]], names: Sequence[str], metric: str, goal: str
) -> list[Sensitivity]:
    """Per swept hyperparameter, most sensitive first (hyperparameters with < 2 values skipped)."""
    ranked = rank(list(records), metric, goal)
    if not ranked or best_value(ranked[0], metric) is None:
        return []
    best_config = ranked[0]["hparams"]
    out = []
    for name in names:
        scores = value_scores(records, name, metric, goal)
        if len(scores) >= 2:
            spread = max(scores.values()) - min(scores.values())
            out.append(Sensitivity(name, scores, best_config[name], spread))
    return sorted(out, key=lambda s: (-s.spread, s.name))  # ties: alphabetical


def value_scores(
    records: Sequence[Mapping[str, Any]], name: str, metric: str, goal: str
) -> dict[str, float]:
    """The best metric reached with each value of `name` (JSON key), over scored records."""
    pick = max if goal == "maximize" else min
    scores: dict[str, float] = {}
    for record in records:
        value = best_value(record, metric)
        if value is not None:
            key = _key(record["hparams"][name])
            scores[key] = pick(scores.get(key, value), value)
    return scores


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def narrowed(sensitivity: Sensitivity, tried: Sequence[Any], keep: int = 3) -> list[Any]:
    """New values for one hyperparameter around its best value (see the module docstring)."""
    best = sensitivity.best
    values = [json.loads(k) for k in sensitivity.scores]
    if not (_number(best) and all(_number(v) for v in values)):
        goal_order = sorted(sensitivity.scores, key=lambda k: -sensitivity.scores[k])
        return [json.loads(k) for k in goal_order[: max(2, keep - 1)]]
    ladder = sorted(set(float(v) for v in tried if _number(v)))
    position = ladder.index(float(best))
    geometric = ladder[0] > 0 and ladder[-1] / ladder[0] >= 10
    integral = all(isinstance(v, int) for v in values)
    out = [best]
    for neighbour in (
        ladder[position - 1] if position > 0 else None,
        ladder[position + 1] if position + 1 < len(ladder) else None,
    ):
        if neighbour is None:
            continue
        middle = math.sqrt(best * neighbour) if geometric else (best + neighbour) / 2
        middle = int(round(middle)) if integral else float(f"{middle:.3g}")
        if middle not in out and middle != neighbour:
            out.append(middle)
    return sorted(out)


def refine_spec(
    directory: Path, top: int = 2, data_dir: str | Path | None = None
) -> tuple[dict[str, Any], list[Sensitivity]]:
    """The follow-up spec (a YAML document) of the sweep in `directory`."""
    document = yaml.safe_load((directory / SPEC_FILE).read_text(encoding="utf-8"))
    records = read_results(directory)
    from jaxtune.spec.resolve import read_resolved

    spec = read_resolved(directory, data_dir)
    names = list(spec.parameters)
    found = sensitivities(records, names, spec.metric, spec.goal)
    if not found:
        raise ValueError(
            f"{directory / RESULTS_FILE}: no finished config with a finite {spec.metric} "
            "and no hyperparameter with two or more values: nothing to refine"
        )
    chosen = found[:top]
    best_config = rank(records, spec.metric, spec.goal)[0]["hparams"]
    parameters = {
        s.name: {"values": narrowed(s, [json.loads(k) for k in s.scores])} for s in chosen
    }
    model = dict(document.get("model") or {})
    for name in names:
        if name not in parameters:
            model[name] = best_config[name]
    refined = {
        key: value
        for key, value in document.items()
        if key not in ("parameters", "model", "name", "description", "method", "run_cap")
    }
    data = refined.get("data")
    if (
        "embedding_trainable" in names
        and isinstance(data, dict)
        and isinstance(data.get("embedding"), dict)
    ):
        # embedding_trainable is now set like every other hyperparameter (model/parameters).
        refined["data"] = {**data, "embedding": dict(data["embedding"])}
        refined["data"]["embedding"].pop("trainable", None)
    if "epochs" in (document.get("train") or {}):
        model.pop("epochs", None)  # train.epochs keeps setting it
    refined.update(
        name=f"{spec.name}_refine",
        description=f"refines {directory} (most sensitive: {', '.join(s.name for s in chosen)})",
        method="grid",
        model=model,
        parameters=parameters,
    )
    return refined, found
