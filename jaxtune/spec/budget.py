"""The spec's `budget:` section: population widths, memory, chunks, devices, time, unroll."""

from __future__ import annotations

import dataclasses
from typing import Any

from jaxtune.space import MERGE_MODES
from jaxtune.spec.errors import Reader
from jaxtune.values import SpaceError, choice, floating, integer, optional

KEYS = (
    "max_population",
    "max_configs",
    "max_memory_gb",
    "chunk",
    "devices",
    "ask_batch",
    "time_limit",
    "unroll",
    "merge",
)


@dataclasses.dataclass(frozen=True)
class Budget:
    # Widest population trained as one program: an integer, or "auto" (64 on a CPU, where
    # a population runs a chunk of configs at a time and wider ones gain nothing; 1024
    # elsewhere, to fill an accelerator). The memory budget may cut it further.
    max_population: int | str = "auto"
    max_configs: int | None = None
    max_memory_gb: float | None = None  # population widths fit in this; default half the RAM
    # Configs computed together in each step of a population: an integer, "all" (one vmap
    # over the population) or "auto" (1 on CPU, where cache-resident kernels win; all
    # elsewhere). Never changes results, only speed and memory.
    chunk: int | str = "auto"
    # Devices the config axis is split over: "auto" (every local device: on a CPU one per
    # core) or a count; a population of K uses gcd(K, devices). Never changes results.
    devices: int | str = "auto"
    ask_batch: int = 8  # method bayes: configs asked from the sampler per round
    # Wall seconds for the sweep: at the first evaluation past it, every config in
    # training stops (its best evaluation kept) and no further population starts.
    time_limit: float | None = None
    # Timesteps per iteration of the recurrent scans (lax.scan's unroll): fewer loop
    # iterations for larger programs. Never changes results, only speed and compile time.
    unroll: int = 1
    # Whether configs of different batch sizes, optimizer kinds and widths share one
    # program (merge.py): "auto" (where it costs nothing per step: configs computed one at
    # a time, the CPU default), "none" (one program per combination) or "all".
    merge: str = "auto"

    def resolved_max_population(self, backend: str) -> int:
        if self.max_population == "auto":
            return 64 if backend == "cpu" else 1024
        return self.max_population

    def resolved_chunk(self, backend: str) -> int | None:
        if self.chunk == "auto":
            return 1 if backend == "cpu" else None
        return None if self.chunk == "all" else self.chunk

    def resolved_devices(self) -> int | None:
        return None if self.devices == "auto" else self.devices


def parse_budget(read: Reader, section: Any) -> Budget:
    section = read.mapping(section, "budget", KEYS)
    chunk = section.get("chunk", "auto")
    if chunk not in ("auto", "all"):
        try:
            chunk = integer(1, 1 << 20)(chunk)
        except SpaceError:
            raise read.error(
                "budget.chunk", f"expected auto, all or an integer in [1, 1048576], found {chunk!r}"
            ) from None
    return Budget(
        max_population=_auto_or(
            read,
            integer(1, 1 << 20),
            section.get("max_population", "auto"),
            "budget.max_population",
        ),
        max_configs=None
        if section.get("max_configs") is None
        else read.parse(integer(1, 1 << 30), section["max_configs"], "budget.max_configs"),
        max_memory_gb=read.parse(
            optional(floating(0.0, 1e6, low_open=True)),
            section.get("max_memory_gb"),
            "budget.max_memory_gb",
        ),
        chunk=chunk,
        # checked against the machine when the sweep runs (sweep.machine_devices)
        devices=_auto_or(
            read, integer(1, 1 << 20), section.get("devices", "auto"), "budget.devices"
        ),
        ask_batch=read.parse(integer(1, 1 << 20), section.get("ask_batch", 8), "budget.ask_batch"),
        time_limit=_duration(read, section.get("time_limit"), "budget.time_limit"),
        unroll=read.parse(integer(1, 1024), section.get("unroll", 1), "budget.unroll"),
        merge=read.parse(choice(*MERGE_MODES), section.get("merge", "auto"), "budget.merge"),
    )


def _auto_or(read: Reader, parse, value: Any, key: str) -> int | str:
    """ "auto", or a value `parse` accepts."""
    if value == "auto":
        return value
    try:
        return parse(value)
    except SpaceError:
        raise read.error(key, f"expected auto or {parse.allowed}, found {value!r}") from None


DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _duration(read: Reader, value: Any, key: str) -> float | None:
    """Seconds from a number or a string such as "90s", "45m", "2h", "1.5d"; null: none."""
    if value is None:
        return None
    text = str(value).strip().lower()
    number, unit = (text[:-1], text[-1]) if text[-1:] in DURATION_UNITS else (text, "s")
    try:
        seconds = float(number) * DURATION_UNITS[unit]
    except ValueError:
        seconds = None
    if isinstance(value, bool) or seconds is None or not 0 < seconds < float("inf"):
        raise read.error(
            key,
            f"expected null, seconds or a duration such as 90s, 45m, 2h, found {value!r}",
        )
    return seconds
