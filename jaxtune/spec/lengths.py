"""max_length in the spec: the widths configs request, and data.max_length made to fit them.

The data is encoded once, at data.max_length tokens per text; a config of max_length L
reads each example's first min(L, T) tokens (`data/widths.py`). A request above the
width the data is encoded at is a one-line error naming the key that asked for it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from typing import Any

from jaxtune.distributions import Distribution, largest_draw
from jaxtune.spec.data import DataSpec

Request = tuple[str, Any, str]  # (spec key, a max_length a config can take, as the key gives it)


def requested_lengths(
    fixed: Mapping[str, Any],
    parameters: Mapping[str, list],
    distributions: Mapping[str, Distribution],
    named: Mapping[str, Mapping[str, Any]],
    *,
    fixed_key: str = "model.max_length",
    swept_key: str = "parameters.max_length",
) -> list[Request]:
    """Every max_length a config of the spec can take (None: the data's whole width).

    A distribution gives its largest draw (inf for the normal family, which has no upper
    bound); weighted values give each value.
    """
    if named:
        return [
            (f"configs.{name}.max_length", values["max_length"], repr(values["max_length"]))
            if "max_length" in values
            else (fixed_key, fixed.get("max_length"), repr(fixed.get("max_length")))
            for name, values in named.items()
        ]
    if "max_length" in parameters:
        return [(swept_key, value, repr(value)) for value in parameters["max_length"]]
    if "max_length" in distributions:
        distribution = distributions["max_length"]
        if distribution.kind == "categorical":  # weighted values, named like plain ones
            return [(swept_key, value, repr(value)) for value in distribution.values]
        key, value, shown = largest_draw(distribution)
        return [(f"{swept_key}.{key}", value, shown)]
    return [(fixed_key, fixed.get("max_length"), repr(fixed.get("max_length")))]


def fit_data_width(
    data: DataSpec,
    requests: list[Request],
    *,
    given: bool,
    error: Callable[[str, str], Exception],
) -> DataSpec:
    """`data` encoded wide enough for every requested max_length; raises `error(key, message)`.

    When the spec sets no data.max_length and every config sets its own, files are
    encoded at the largest of them rather than the default. The synthetic task's
    data.max_length shapes the examples it generates, so it is never changed.
    """
    values = [value for _, value, _ in requests]
    if (
        data.source != "synthetic"
        and not given
        and all(value is not None and math.isfinite(value) for value in values)
    ):
        data = dataclasses.replace(data, max_length=int(max(values)))  # q 1.0 draws 13.0
    width = data.synthetic.max_length if data.source == "synthetic" else data.max_length
    for key, value, shown in requests:
        if value is None or value <= width:
            continue
        if math.isinf(value):
            raise error(
                key,
                f"found {shown}, which has no upper bound; max_length takes 1 to "
                f"data.max_length {width}: use values, int_uniform, q_uniform or q_log_uniform",
            )
        raise error(
            key,
            f"found {shown}, above data.max_length {width} (the width the data is encoded "
            f"at); allowed: 1 to {width} or null; raise data.max_length to read longer examples",
        )
    return data
