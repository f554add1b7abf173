"""DIR/progress.jsonl: the sweep's evaluations as they happen, for whoever watches it.

One line per evaluation round of a population, appended and flushed when the round
ends: the wall-clock time (`time.time()`), the population and its round, how many of its
configs are still training, and the best value of the sweep's metric inside the
population so far. results.jsonl is rewritten after each population; this file shows
what the terminal shows in between (the head-to-head benchmark reads its best-so-far
curve from it). A kill can leave a torn last line, which `read_progress` skips; a
resumed sweep appends.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from jaxtune.engine import EpochReport
from jaxtune.layout import PROGRESS_FILE


class ProgressLog:
    def __init__(self, directory: Path, clock=time.time):
        self.path = Path(directory) / PROGRESS_FILE
        self.clock = clock
        if self.path.exists() and self.path.stat().st_size:  # a resumed sweep's log
            with open(self.path, "rb+") as handle:
                handle.seek(-1, 2)
                if handle.read(1) != b"\n":  # torn by a kill: end it, keep what follows
                    handle.write(b"\n")

    def write(self, report: EpochReport) -> None:
        line = {
            "time": self.clock(),
            "population": report.population,
            "round": report.epoch,
            "rounds": report.max_epochs,
            "active": report.active,
            "width": report.width,
            "best": report.best_value,
        }
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(line, sort_keys=True) + "\n")
            handle.flush()


def read_progress(directory: Path) -> list[dict[str, Any]]:
    """The lines of DIR/progress.jsonl in order ([] without the file); a torn line (a
    kill mid-write) is skipped."""
    path = Path(directory) / PROGRESS_FILE
    if not path.exists():
        return []
    lines = []
    for text in path.read_text(encoding="utf-8").splitlines():
        try:
            lines.append(json.loads(text))
        except json.JSONDecodeError:
            continue
    return lines
