"""How the report writes values: numbers, hyperparameter values, statuses, config names."""

from __future__ import annotations

import math
from typing import Any

from jaxtune.report.analysis import applies


def value_label(value: Any, limit: int = 14, digits: int = 6) -> str:
    """A short tick label: 0.003, true, 3,4,5; cut with an ellipsis past `limit` characters."""
    if isinstance(value, bool) or value is None:
        text = {True: "true", False: "false", None: "null"}[value]
    elif isinstance(value, float):
        text = f"{value:.{digits}g}"
    elif isinstance(value, list | tuple):
        text = ",".join(value_label(v, limit) for v in value)
    else:
        text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def fmt(value: Any, digits: int = 4) -> str:
    """A table cell: floats with `digits` decimals (0: shortest form), None as a dash."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.{digits}f}" if digits else f"{value:g}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(fmt(v, 0) for v in value) + "]"
    return str(value)


def fmt_value(value: Any) -> str:
    """A hyperparameter value as the spec would write it (null, true, [3, 4, 5], 0.001)."""
    return "null" if value is None else fmt(value, 0)


def metric_cell(record: dict[str, Any], name: str) -> str:
    value = (record.get("best") or {}).get(name)
    return "—" if value is None else fmt(float(value))


def status_cell(record: dict[str, Any]) -> str:
    status = record.get("status", "?")
    if status in ("failed", "pruned"):
        reason = record.get("status_reason")
        return f"{status.upper()}: {reason}" if reason else status.upper()
    return status


def describe(record: dict[str, Any], names: list[str], limit: int = 90) -> str:
    """What sets a config apart: its study's value (one-at-a-time) or the given names' values."""
    studies = record.get("studies") or []
    if len(studies) > 1:
        return "the baseline"
    if studies:
        names = studies
    text = ", ".join(
        f"{n}={value_label(record['hparams'][n], 16)}" for n in names if applies(record, n)
    )
    return text if len(text) <= limit else text[: limit - 1] + "…"


def differing_names(records: list[dict[str, Any]], names: list[str]) -> list[str]:
    return [n for n in names if len({fmt_value(r["hparams"][n]) for r in records}) > 1]
