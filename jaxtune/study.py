"""Every sweep is an Optuna study: one trial per config, with its state, value and curve.

The study lives in the sweep directory (`study.db`, SQLite) unless `--storage` names any
Optuna storage URL, so `optuna-dashboard sqlite:///runs/NAME/study.db` shows a sweep and
plain Optuna reads it back. A trial's params are the swept hyperparameters; its value is
the sweep metric at the config's best epoch; its intermediate values are the metric after
every epoch; its user attrs hold the complete config and how it ended.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.trial import TrialState

from jaxtune.layout import STUDY_FILE
from jaxtune.records import TrialRecord
from jaxtune.space import applies

STATES = {
    "completed": TrialState.COMPLETE,
    "stopped": TrialState.COMPLETE,  # early stopping is a normal end: its best epoch counts
    "failed": TrialState.FAIL,
    "pruned": TrialState.PRUNED,
}


def storage_url(directory: Path, storage: str | None = None) -> str:
    return storage or f"sqlite:///{(Path(directory) / STUDY_FILE).resolve()}"


def open_study(
    directory: Path,
    name: str,
    goal: str,
    storage: str | None = None,
    *,
    fresh: bool = False,
) -> optuna.Study:
    """The sweep's study (created, or loaded to continue); `fresh` deletes an earlier one."""
    optuna.logging.set_verbosity(logging.WARNING)
    url = storage_url(directory, storage)
    if fresh:
        try:
            optuna.delete_study(study_name=name, storage=url)
        except KeyError:
            pass
    return optuna.create_study(storage=url, study_name=name, direction=goal, load_if_exists=True)


def choice(value: Any):
    """A hyperparameter value as an Optuna categorical choice (lists become JSON text)."""
    if isinstance(value, list | tuple):
        return json.dumps(list(value))
    return value


def categorical_distributions(
    parameters: Mapping[str, Sequence[Any]],
) -> dict[str, BaseDistribution]:
    """Swept values as Optuna distributions (each hyperparameter's listed values)."""
    return {
        name: CategoricalDistribution([choice(v) for v in values])
        for name, values in parameters.items()
    }


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def frozen_trial(
    record: TrialRecord,
    metric: str,
    distributions: Mapping[str, BaseDistribution | None],
) -> optuna.trial.FrozenTrial:
    """The Optuna trial of one result record (see results.py for the record's fields)."""
    state, value = outcome(record, metric)
    params, distributions = trial_params(record["hparams"], distributions)
    return optuna.trial.create_trial(
        state=state,
        value=value,
        params=params,
        distributions=distributions,
        intermediate_values=intermediate_values(record, metric),
        user_attrs=trial_attrs(record),
    )


def outcome(record: TrialRecord, metric: str) -> tuple[TrialState, float | None]:
    """A record's Optuna state and value (COMPLETE without a finite value is FAIL)."""
    value = (record.get("best") or {}).get(metric)
    state = STATES.get(record["status"], TrialState.FAIL)
    if state == TrialState.COMPLETE and not _finite(value):
        state = TrialState.FAIL  # no finite evaluation: nothing to rank it by
    return state, float(value) if state == TrialState.COMPLETE else None


def intermediate_values(record: TrialRecord, metric: str) -> dict[int, float]:
    """The metric at each evaluation (epoch) of a record, where finite."""
    return {int(h["epoch"]): float(h[metric]) for h in record["history"] if _finite(h.get(metric))}


def trial_params(
    hparams: Mapping[str, Any], distributions: Mapping[str, BaseDistribution | None]
) -> tuple[dict[str, Any], dict[str, BaseDistribution]]:
    """A config's swept values as Optuna params and their distributions. A hyperparameter
    the config's architecture does not use (a CNN's hidden_size, reset to its default) is
    left out, as Optuna leaves out a conditional parameter."""
    used = [n for n in distributions if n in hparams and applies(n, hparams.get("architecture"))]
    params = {name: choice(hparams[name]) for name in used}
    return params, {
        name: point(params[name]) if distributions[name] is None else distributions[name]
        for name in used
    }


def point(value: Any) -> BaseDistribution:
    """A one-point distribution holding `value` (a drawn value Optuna has no distribution for)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return IntDistribution(value, value)
    if isinstance(value, float):
        return FloatDistribution(value, value)
    return CategoricalDistribution([value])


def trial_attrs(record: TrialRecord) -> dict[str, Any]:
    """What a trial's user attrs hold: the jaxtune id, the complete config, how it ended."""
    return {
        "jaxtune_trial_id": record["trial_id"],
        "name": record.get("name"),
        "status": record["status"],
        "status_reason": record["status_reason"],
        "best_epoch": record["best_epoch"],
        "epochs_run": record["epochs_run"],
        "group": record["group"],
        "config": record["hparams"],
        "best": record.get("best") or {},
    }


def record_trials(
    study: optuna.Study,
    records: Iterable[TrialRecord],
    metric: str,
    distributions: Mapping[str, BaseDistribution],
) -> None:
    """Add finished configs to the study (each once: a trial id already there is skipped)."""
    known = {t.user_attrs.get("jaxtune_trial_id") for t in study.get_trials(deepcopy=False)}
    for record in records:
        if record["trial_id"] not in known:
            study.add_trial(frozen_trial(record, metric, distributions))


def record_replicated(
    study: optuna.Study,
    records: Iterable[TrialRecord],
    metric: str,
    distributions: Mapping[str, BaseDistribution],
    repeats: int,
) -> None:
    """One trial per config once all its `repeats` seed replicates are recorded
    (replicates.py): its value the mean of theirs, each seed's value and trial id and the
    std as user attrs; identified by its first replicate's trial id."""
    from jaxtune.replicates import summaries

    records = list(records)
    by_id = {r["trial_id"]: r for r in records}
    known = {t.user_attrs.get("jaxtune_trial_id") for t in study.get_trials(deepcopy=False)}
    for summary in summaries(records, metric).values():
        first = by_id[summary.trial_ids[0]]
        if len(summary.trial_ids) < repeats or first["trial_id"] in known:
            continue
        mean = summary.mean
        if mean is None or len(summary.finite) < repeats:
            state, value = TrialState.FAIL, None  # a replicate without a value: no mean
        else:
            state, value = TrialState.COMPLETE, mean
        params, dists = trial_params(first["hparams"], distributions)
        attrs = {
            **trial_attrs(first),
            "seed_values": list(summary.values),
            "replicate_trial_ids": list(summary.trial_ids),
            "std": summary.std,
        }
        study.add_trial(
            optuna.trial.create_trial(
                state=state,
                value=value,
                params=params,
                distributions=dists,
                user_attrs=attrs,
            )
        )
