"""The spec's `early_terminate:` section, as a W&B sweep file writes it."""

from __future__ import annotations

from typing import Any

from jaxtune.schedulers.early_terminate import HyperbandStopping
from jaxtune.spec.errors import Reader
from jaxtune.values import boolean, floating, integer

KEYS = ("type", "min_iter", "max_iter", "s", "eta", "strict")
MAX_ITER = 1 << 30


def parse_early_terminate(
    read: Reader, section: Any, notices: list[str]
) -> HyperbandStopping | None:
    """W&B's hyperband stopping (schedulers/early_terminate.py), or None without the section.

    Bands come from `min_iter`, or from `max_iter` and `s`; with both, W&B uses max_iter
    and so does jaxtune (with a notice).
    """
    if section is None:
        return None
    et = read.mapping(section, "early_terminate", KEYS)
    read.choice(et.get("type"), "early_terminate.type", ("hyperband",))
    raw_eta = et.get("eta", 3)
    eta = read.parse(floating(1, 1e9, low_open=True), raw_eta, "early_terminate.eta")
    if isinstance(raw_eta, int) and not isinstance(raw_eta, bool):
        eta = int(raw_eta)  # W&B multiplies the integer it reads: bands stay exact
    strict = read.parse(boolean(), et.get("strict", True), "early_terminate.strict")
    bands = {}
    for key in ("min_iter", "max_iter", "s"):
        if key in et:
            bands[key] = read.parse(integer(1, MAX_ITER), et[key], f"early_terminate.{key}")
    if "max_iter" in bands and "s" not in bands:
        raise read.error(
            "early_terminate.s", "max_iter needs s, how many bands to cut below it; found none"
        )
    if "s" in bands and "max_iter" not in bands:
        raise read.error("early_terminate.max_iter", "s needs max_iter; found none")
    if "max_iter" in bands and "min_iter" in bands:
        notices.append(
            f"{read.path}: early_terminate.min_iter: ignored, as W&B does: the bands come "
            "from max_iter and s"
        )
        del bands["min_iter"]
    if not bands:
        raise read.error(
            "early_terminate", "expected min_iter, or max_iter and s (the bands); found neither"
        )
    try:
        return HyperbandStopping.of(**bands, eta=eta, strict=strict)
    except ValueError as error:
        raise read.error("early_terminate", str(error)) from None
