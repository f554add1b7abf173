"""grid, random, one_at_a_time and named configs: every config known from the spec.

The spec's trials are one round; each `jaxtune resume --n-more N` adds a batch of the
configs a run_cap N larger draws, planned after the others.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from jaxtune.search.base import Round, extended
from jaxtune.search.samplers import sample

if TYPE_CHECKING:
    from jaxtune.spec.resolve import ResolvedSpec

Record = Callable[[Sequence[dict[str, Any]]], None]


class FixedSearch:
    def __init__(self, spec: ResolvedSpec, extensions: Sequence[int], record: Record):
        """record(records): the records into the sweep's Optuna study."""
        trials, self.merged = sample(spec)
        batches = [trials]
        seen = {trial.trial_id for trial in trials}
        for stage in itertools.accumulate(extensions):  # --n-more: populations after the rest
            more = [t for t in sample(extended(spec, stage))[0] if t.trial_id not in seen]
            batches.append(more)
            seen.update(t.trial_id for t in more)
        self._round: Round | None = Round(batches)
        self._record = record

    def propose(self) -> Round | None:
        round_, self._round = self._round, None
        return round_

    def observe(self, records: Sequence[dict[str, Any]]) -> None:
        self._record(records)

    def conclude(self) -> None:
        pass
