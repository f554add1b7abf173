"""Which static groups share one program (`budget.merge`), and the variants they run.

Without merging, every distinct batch size, optimizer kind (with nesterov) and width
(`hidden_size`, `num_filters`) is its own static group: its own compiled program,
trained on its own. A merged group runs all of them in one program: each config runs
its `step.Variant`, its batch size as `batch_size / micro` consecutive micro-batches of
the group's shared stream (micro: the smallest batch size), its optimizer kind's optax
update, and its model at its own width, its params stored in the corner of the widest
(population/shapes.py).

The cost of a merge depends on how the population is computed (the cost model):

- one config at a time (`budget.chunk` 1, the CPU default): a config branches into its
  own variant's loop (`lax.switch`), so a merged program costs each config what its own
  program costs per step, and compiles each variant once, as the separate programs
  would (benchmarks/results/2026-12-06/merge/). Merging then only gains: fewer, wider
  populations, which fill every device; each config's params and optimizer state take
  the widest config's memory. `auto` merges batch sizes, optimizer kinds and widths.
- several configs per vmapped step (`chunk` > 1 or `all`, the accelerator default): a
  vmapped branch runs every variant for every config, so merged batch sizes and widths
  would cost a step per variant, and merged kinds run the union update, 0-20% slower
  per step (optim.py). `auto` merges nothing there; `all` merges everything anyway.

A merged group's batch sizes must each be the smallest times a power of two that
divides the 16-step blocks of a length bucket (engine.BLOCK_STEPS): otherwise they stay
apart, each a group of its own. Evaluations (`train.eval_every`) and step budgets
(`train.max_steps`) count each config's own steps, as alone: the rounds of a merged
stream end wherever some config is due (rounds.py). The lazy embedding update merges
nothing (its row views are built for one batch shape).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from jaxtune.population.program import Variant, variant_of
from jaxtune.space import KIND_NAMES, MERGE_MODES

BATCH = ("batch_size",)
WIDTHS = ("hidden_size", "num_filters")  # params' dims, not their structure


@dataclasses.dataclass(frozen=True)
class MergePolicy:
    """What a sweep's planner merges, and why (shown with the plan)."""

    mode: str  # budget.merge as written: auto, none or all
    batch_sizes: bool = False
    kinds: str | None = None  # "branch": each kind's optax update; "union": optim.py's
    widths: bool = False  # hidden_size / num_filters: params in the corner of the widest
    reason: str = ""
    block_steps: int = 16  # the engine's steps per length-bucket block (engine.BLOCK_STEPS)

    @property
    def names(self) -> tuple[str, ...]:
        """The hyperparameters that no longer split static groups."""
        names = (BATCH if self.batch_sizes else ()) + (KIND_NAMES if self.kinds else ())
        return names + (WIDTHS if self.widths else ())


def merge_policy(
    mode: str, chunk: int | None, *, embedding_update: str = "dense", block_steps: int = 16
) -> MergePolicy:
    """The merge a sweep's populations get from `budget.merge` on this backend."""
    if mode not in MERGE_MODES:
        raise ValueError(f"unknown merge mode {mode!r}; allowed: {', '.join(MERGE_MODES)}")
    if mode == "none":
        return MergePolicy(mode, reason="budget.merge none", block_steps=block_steps)
    if embedding_update == "lazy":
        reason = "the lazy embedding update runs one variant per program"
        return MergePolicy(mode, reason=reason, block_steps=block_steps)
    one_at_a_time = chunk == 1
    if mode == "auto" and not one_at_a_time:
        return MergePolicy(
            mode,
            reason="configs are vmapped together (budget.chunk), where every variant would "
            "run for every config",
            block_steps=block_steps,
        )
    kinds = "branch" if one_at_a_time else "union"
    how = "each config runs its own branch" if one_at_a_time else "vmapped: every variant runs"
    reason = f"batch sizes, optimizer kinds and widths merged ({how})"
    return MergePolicy(mode, True, kinds, True, reason, block_steps)


def merged_names(policy: MergePolicy | None) -> tuple[str, ...]:
    return () if policy is None else policy.names


def batch_sets(batch_sizes: Sequence[int], block_steps: int = 16) -> list[tuple[int, ...]]:
    """Batch sizes cut into sets that can share a stream: each set's sizes are its smallest
    times a power of two that divides `block_steps` (smallest first, greedy)."""
    sets: list[list[int]] = []
    for size in sorted(set(batch_sizes)):
        for members in sets:
            ratio, rest = divmod(size, members[0])
            if not rest and block_steps % ratio == 0:
                members.append(size)
                break
        else:
            sets.append([size])
    return [tuple(members) for members in sets]


def split_group(
    configs: Sequence[Mapping[str, Any]], policy: MergePolicy | None
) -> list[tuple[list[int], tuple[Variant, ...]]]:
    """One merged static group cut into programs: (member indices, the program's variants).

    Variants are () where the members need no branching: one batch size and one optimizer
    kind, the plain program.
    """
    if policy is None or not policy.names:
        return [(list(range(len(configs))), ())]
    if policy.batch_sizes:
        sets = batch_sets([c["batch_size"] for c in configs], policy.block_steps)
    else:
        sets = [(size,) for size in sorted({c["batch_size"] for c in configs})]
    out = []
    for sizes in sets:
        members = [i for i, c in enumerate(configs) if c["batch_size"] in sizes]
        varying = tuple(
            name
            for name in WIDTHS
            if policy.widths and len({_hashable(configs[i].get(name)) for i in members}) > 1
        )
        by_kind = policy.kinds == "branch"
        variants = {variant_of(configs[i], by_kind=by_kind, widths=varying) for i in members}
        variants = tuple(sorted(variants, key=_order))
        plain = len(variants) == 1 and variants[0].optimizer is not None
        out.append((members, () if plain else variants))
    return out


def widest_config(configs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A config as large as any of `configs` in batch size and widths: what a merged
    program's memory is estimated for (every config is stored at the widest)."""

    def largest(values):
        if all(isinstance(v, tuple | list) for v in values):
            return tuple(max(sizes) for sizes in zip(*values, strict=True))
        return max(max(v) if isinstance(v, tuple | list) else v for v in values)

    names = ("batch_size", *WIDTHS)
    return {**configs[0], **{name: largest([c[name] for c in configs]) for name in names}}


def _hashable(value):
    return tuple(value) if isinstance(value, list) else value


def _order(variant: Variant) -> tuple:
    widths = tuple(v if isinstance(v, tuple) else (v,) for _, v in variant.widths)
    return (variant.batch_size, variant.optimizer or "", variant.nesterov, widths)
