"""A config's status and the early-stopping settings: plain Python, imported by the spec."""

from __future__ import annotations

import dataclasses
import enum

from jaxtune.tasks import ALL_MONITORS


class Status(enum.IntEnum):
    RUNNING = 0
    COMPLETED = 1  # ran its `epochs`
    STOPPED = 2  # early stopping (no improvement for `patience` evaluations) or the time limit
    PRUNED = 3  # no code sets it yet: the value the schedulers (ASHA, PBT) will use
    FAILED = 4  # non-finite loss or parameters; frozen at its last finite state


# Every validation metric of every task with its goal (tasks.py): what early stopping can watch.
MONITORS = ALL_MONITORS


@dataclasses.dataclass(frozen=True)
class EarlyStopping:
    """Static settings; `patience` and `min_delta` are passed as traced values.

    monitor: which validation metric decides "best" (also when patience is None).
    patience: evaluations without improvement before stopping; None disables stopping.
    restore_best: a finished config's params become those of its best evaluation.
    """

    monitor: str = "val_loss"
    patience: int | None = None
    min_delta: float = 0.0
    restore_best: bool = True

    @property
    def mode(self) -> str:
        return MONITORS[self.monitor]
