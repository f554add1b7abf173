"""The sweep plan: trials grouped by static signature and cut into populations.

A group's population width is the smallest of the user's cap (`budget.max_population`)
and what fits in the memory budget by `memory.estimate_memory`; a group larger than that
is cut into populations of (nearly) equal width, so it compiles once or twice, not once
per remainder.

When the population is chunked (`budget.chunk`, the CPU default), each width is padded
up to a power of two (within the limit) with inactive slots, which the chunked step
skips (`population.over_chunks`): populations of one group in different sizes (ask
rounds, greedy iterations, a remainder) then share a few compiled programs.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Container, Sequence
from typing import Any

from jaxtune.memory import MemoryEstimate, estimate_memory
from jaxtune.merge import MergePolicy, merged_names, split_group, widest_config
from jaxtune.population.program import Variant, holds_union
from jaxtune.search.samplers import Trial
from jaxtune.space import static_signature

RUNTIME_RESERVE_BYTES = 1 << 30  # the JAX runtime, compiled programs and the dataset on device


@dataclasses.dataclass(frozen=True)
class PopulationPlan:
    group: int  # index of the static signature
    trials: tuple[Trial, ...]
    estimate: MemoryEstimate | None = None  # per config; None when not estimated
    chunk: int | None = None  # configs computed together in each step (None: all)
    padded_width: int | None = None  # slots of the compiled program (None: width)
    devices: int = 1  # devices the config axis is split over, each computing `chunk`
    variants: tuple[Variant, ...] = ()  # a merged program's (merge.py); () the plain one
    # Trials waiting for a slot (`streamed`): each takes the first slot whose config ends.
    queued: tuple[Trial, ...] = ()

    @property
    def width(self) -> int:
        return len(self.trials)

    @property
    def all_trials(self) -> tuple[Trial, ...]:
        """The trials that start in its slots, then the queued ones, in the order they start."""
        return self.trials + self.queued

    def without(self, trial_ids: Container[int]) -> PopulationPlan:
        """The population of its trials not in `trial_ids`, in its slots (or fewer)."""
        waiting = tuple(t for t in self.all_trials if t.trial_id not in trial_ids)
        slots = self.slots
        return dataclasses.replace(self, trials=waiting[:slots], queued=waiting[slots:])

    @property
    def slots(self) -> int:
        """The population's compiled width: its trials plus inactive padding."""
        return self.width if self.padded_width is None else self.padded_width

    @property
    def estimated_bytes(self) -> int:
        return (
            0
            if self.estimate is None
            else self.estimate.population_bytes(self.slots, concurrent(self.chunk, self.devices))
        )


@dataclasses.dataclass(frozen=True)
class Shapes:
    """The data shapes a population's memory depends on."""

    vocab_size: int
    num_classes: int
    seq_len: int  # T, the data's width; a config reads min(its max_length, T)


def physical_memory_bytes() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def default_memory_budget(devices: Sequence[Any] = ()) -> int:
    """What populations may use when the spec sets no budget.max_memory_gb.

    On devices that report their memory (an accelerator's `memory_stats()`), the free
    memory of the least free one (`bytes_limit - bytes_in_use`) times their count: a
    population's configs are split evenly over them. A CPU reports none: then half the
    machine's RAM, room for the host copy of the data and everything else.
    """
    stats = [device.memory_stats() for device in devices]
    if stats and all(s and "bytes_limit" in s for s in stats):
        free = min(s["bytes_limit"] - s.get("bytes_in_use", 0) for s in stats)
        return max(free, 0) * len(stats)
    return physical_memory_bytes() // 2


def concurrent(chunk: int | None, devices: int) -> int | None:
    """Configs whose step activations are alive at once: `chunk` on each device."""
    return None if chunk is None else chunk * devices


def width_limit(
    estimate: MemoryEstimate, max_population: int, memory_budget: int, chunk: int | None = None
) -> int:
    """The widest population that both the cap and the memory budget allow (at least 1)."""
    usable = max(memory_budget - RUNTIME_RESERVE_BYTES, 0)
    if chunk is None:
        fits = usable // max(estimate.total, 1)
    else:  # only `chunk` configs hold step activations at a time
        fits = (usable - chunk * estimate.per_step) // max(estimate.persistent, 1)
        if fits < chunk:
            fits = usable // max(estimate.total, 1)
    return int(max(1, min(max_population, fits)))


def balanced_chunks(count: int, limit: int) -> list[int]:
    """Cut `count` trials into the fewest populations of width <= limit, widths within 1.

    70 trials at limit 64 become 35 + 35 (one program) rather than 64 + 6 (two).
    """
    chunks = -(-count // limit)
    base, extra = divmod(count, chunks)
    return [base + 1] * extra + [base] * (chunks - extra)


def padded_width(width: int, limit: int) -> int:
    """The power of two at or above `width`, but not above `limit` (>= width)."""
    return max(width, min(1 << (width - 1).bit_length(), limit))


def plan_populations(
    trials: list[Trial],
    max_population: int,
    *,
    shapes: Shapes | None = None,
    memory_budget: int | None = None,
    chunk: int | None = None,
    devices: int = 1,
    embedding_update: str = "dense",
    merge: MergePolicy | None = None,
) -> list[PopulationPlan]:
    """One group per static signature (first-seen order), cut into populations.

    Only shape-changing hyperparameters split groups; every dynamic value rides along
    as an array inside the group's one program. With `shapes`, each group's width is
    also limited by its estimated memory per config against `memory_budget` (default:
    half of physical memory), with `chunk` configs computed at a time on each of
    `devices` and the table updated by `embedding_update` (train.embedding_update).
    `merge` (merge.py) lets batch sizes and optimizer kinds share a group, each config
    running its variant of the group's program.
    """
    groups: dict[tuple, list[Trial]] = {}
    for trial in trials:
        groups.setdefault(static_signature(trial.config, merged_names(merge)), []).append(trial)
    programs = [
        ([members[i] for i in index], variants)
        for members in groups.values()
        for index, variants in split_group([t.config for t in members], merge)
    ]
    budget = default_memory_budget() if memory_budget is None else memory_budget
    plans = []
    for index, (members, variants) in enumerate(programs):
        estimate = None
        limit = max_population
        if shapes is not None:
            # The largest batch's step, and the union state where the kinds are mixed.
            widest = widest_config([t.config for t in members])
            estimate = estimate_memory(
                widest,
                vocab_size=shapes.vocab_size,
                num_classes=shapes.num_classes,
                seq_len=shapes.seq_len,  # the estimate reads the config's max_length
                embedding_update=embedding_update,
                merge="all" if holds_union(variants) else "none",
            )
            limit = width_limit(estimate, max_population, budget, concurrent(chunk, devices))
        start = 0
        for width in balanced_chunks(len(members), limit):
            population = tuple(members[start : start + width])
            slots = None if chunk is None else padded_width(width, limit)
            plans.append(
                PopulationPlan(index, population, estimate, chunk, slots, devices, variants)
            )
            start += width
    return plans


def streamed(plans: list[PopulationPlan]) -> list[PopulationPlan]:
    """The populations of each program joined into one that streams its trials through the
    widest one's slots: they start in trial order, and each queued trial takes the first
    slot whose config has ended (pruned, stopped, completed, failed), so a sweep that
    prunes keeps its program's slots full instead of training its populations one after
    another. One plan per program (static group and variants), in first-seen order.
    """
    joined: dict[tuple, list[PopulationPlan]] = {}
    for plan in plans:
        joined.setdefault((plan.group, plan.variants), []).append(plan)
    out = []
    for members in joined.values():
        widest = max(members, key=lambda plan: plan.slots)
        trials = [trial for plan in members for trial in plan.trials]
        slots = widest.slots
        out.append(
            dataclasses.replace(
                widest,
                trials=tuple(trials[:slots]),
                queued=tuple(trials[slots:]),
                padded_width=None if widest.padded_width is None else slots,
            )
        )
    return out


def static_groups(trials: list[Trial]) -> int:
    """The static groups the trials form unmerged (budget.merge none): what a plan merges."""
    return len({static_signature(t.config) for t in trials})
