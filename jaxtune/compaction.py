"""Compaction: a population's survivors gathered into a narrower one, when that saves work.

When no freed slot can be filled any more (a plan that does not stream, or a stream whose
queue is empty), the configs still training move into the slots of a narrower
population (`Population.compact`: a gather on the config axis, each survivor's whole
training state, so its curve goes on unchanged), only when that saves work: the
narrower population computes fewer configs per step, and either its width's program is
already compiled, or the population is computed a chunk at a time (a chunk holding no
active config is skipped already, so at `chunk` 1, a CPU's default, nothing compacts;
at chunk c it compacts when the survivors fill fewer chunks). Vmapped whole (an
accelerator's `chunk` None), every slot computes every step, and a width already
compiled, e.g. by an earlier population of the program, is what makes it free.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np

from jaxtune.plan import padded_width


def computed(active: np.ndarray, chunk: int | None) -> int:
    """Configs computed per step: every slot of each chunk that holds an active config,
    or (chunk None, one vmap) every slot."""
    if chunk is None:
        return len(active)
    starts = range(0, len(active), chunk)
    return sum(min(chunk, len(active) - s) for s in starts if active[s : s + chunk].any())


def compaction(
    active: np.ndarray, chunk: int | None, compiled: Collection[int]
) -> np.ndarray | None:
    """The slots a narrower population takes, in order (the survivors, then inactive
    slots as its padding), or None when compacting would not save work.

    active: [K] bool, the configs still training. compiled: the widths this population's
    program has already been compiled at.
    """
    survivors = np.flatnonzero(active)
    if not survivors.size:
        return None
    if chunk is None:  # one vmap: only a width already compiled comes free
        widths = [w for w in compiled if survivors.size <= w < len(active)]
        if not widths:
            return None
        width = min(widths)
    else:  # a power of two, as the planner pads
        width = padded_width(survivors.size, len(active))
        if width >= len(active):
            return None
        if computed(np.arange(width) < survivors.size, chunk) >= computed(active, chunk):
            return None
    padding = np.flatnonzero(~active)[: width - survivors.size]
    return np.concatenate([survivors, padding])
