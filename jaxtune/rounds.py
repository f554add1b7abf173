"""The training stream cut into evaluation rounds: every epoch, or every N optimizer steps.

The engine trains a population on one stream of minibatch blocks (each epoch's blocks in
order, `data/bucketing.py`) and evaluates at the end of every round. A program's stream
(`Stream`) is cut at its smallest batch size, `micro`; a config of batch size b (a merged
program's variant, population/program.py) steps on `ratio = b / micro` consecutive
minibatches at a time, its own steps. Each config is evaluated after every `every` of its
own steps (`train.eval_every`; by default at each epoch's end) and when its step budget
is spent, exactly as it would be trained alone; so the configs that share a ratio and a
budget (a `Track`) are evaluated together, and a round ends wherever some track is due.
Where a round ends inside another ratio's step (the smallest batch size evaluated after
an odd step, say), that step goes whole into the next round.

A round is a list of `Call`s: a block and, for each ratio, the rows [lo, hi) of it whose
steps its configs take in that call. A block cut by a round is called twice with two row
ranges, so every block of a bucket length keeps one static shape and rounds never add
compilations.
"""

from __future__ import annotations

import dataclasses
import heapq
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from jaxtune.data.bucketing import Block


@dataclasses.dataclass(frozen=True)
class Stream:
    """A population's minibatch stream: cut at `micro` examples per step; a config of batch
    size b takes b / micro consecutive minibatches per step (its `ratio`)."""

    micro: int
    ratios: tuple[int, ...]

    @classmethod
    def of(cls, configs: list[dict[str, Any]], variants: Sequence[Any]) -> Stream:
        if not variants:
            return cls(configs[0]["batch_size"], (1,))
        micro = min(v.batch_size for v in variants)
        return cls(micro, tuple(sorted({v.batch_size // micro for v in variants})))

    def ratio(self, config: dict[str, Any]) -> int:
        return config["batch_size"] // self.micro

    def whole(self, steps: int) -> int:
        """`steps` rounded up to whole steps of every ratio."""
        largest = max(self.ratios)
        return -(-steps // largest) * largest


@dataclasses.dataclass(frozen=True)
class Track:
    """Configs that are evaluated together: one ratio, one budget of their own steps."""

    ratio: int
    total: int


@dataclasses.dataclass(frozen=True)
class Call:
    """One jitted call: `block`, of which the configs of `ratios[i]` step on the rows
    bounds[i] = [lo, hi) (multiples of the ratio; lo == hi: no step)."""

    block: Block
    bounds: np.ndarray  # [R, 2] int32, R = len(Stream.ratios)


@dataclasses.dataclass(frozen=True)
class Round:
    calls: list[Call]
    due: frozenset[Track]  # the tracks whose evaluation ends this round
    steps: dict[int, int]  # each ratio's own steps so far


def real_steps(block: Block, ratio: int = 1) -> int:
    """Steps of the block whose batch holds at least one example; with `ratio`, steps of
    `ratio` consecutive rows each (a merged program's larger batch size, step.Variant)."""
    return int(np.count_nonzero(_real_groups(block, ratio)))


def steps_per_epoch(blocks: list[Block], ratio: int = 1) -> int:
    return sum(real_steps(b, ratio) for b in blocks)


def _real_groups(block: Block, ratio: int) -> np.ndarray:
    """[S / ratio] bool: which of the block's steps of `ratio` rows hold an example."""
    return block.weight.sum(axis=1).reshape(-1, ratio).sum(axis=1) > 0


def _padded(block: Block, rows: slice, piece: int) -> Block:
    """Rows of a block, padded with empty steps to `piece` rows."""
    index, weight = block.index[rows], block.weight[rows]
    fill = piece - index.shape[0]
    return Block(
        block.length,
        np.concatenate([index, np.zeros((fill, index.shape[1]), index.dtype)]),
        np.concatenate([weight, np.zeros((fill, weight.shape[1]), weight.dtype)]),
    )


def _pieces(blocks: list[Block], piece: int) -> list[Block]:
    """Blocks longer than `piece` rows (one whole-epoch block) cut into blocks of `piece`."""
    out = []
    for block in blocks:
        if block.steps <= piece:
            out.append(block)
        else:
            starts = range(0, block.steps, piece)
            out += [_padded(block, slice(s, s + piece), piece) for s in starts]
    return out


def evaluation_rounds(
    epoch_blocks: Callable[[int], list[Block]],
    *,
    ratios: Sequence[int],
    tracks: Sequence[Track],
    every: int | None,
    piece: int,
) -> Iterator[Round]:
    """The stream's rounds, until every track has spent its budget.

    epoch_blocks(e): epoch e's blocks, of `piece` rows or one block of the whole epoch
    (cut into blocks of `piece` rows, a multiple of every ratio). every: own steps between
    a track's evaluations; None: at each epoch's end.
    """
    done = dict.fromkeys(ratios, 0)  # each ratio's own steps before the block
    last = dict.fromkeys(tracks, 0)  # each track's steps at its latest evaluation
    finish = {r: max((t.total for t in tracks if t.ratio == r), default=0) for r in ratios}
    calls: list[Call] = []
    epoch = 0
    while any(last[t] < t.total for t in tracks):
        blocks = _pieces(epoch_blocks(epoch), piece)
        epoch += 1
        for b, block in enumerate(blocks):
            rows = block.steps
            marks: dict[int, set[Track]] = {}  # row p -> the tracks due after it
            own = {}  # own[r][j]: ratio r's steps after the block's first j steps
            stop = {}  # the row after which a ratio takes no further step
            for r in ratios:
                real = _real_groups(block, r)  # [S / r]
                own[r] = done[r] + np.concatenate([[0], np.cumsum(real)])
                stop[r] = rows if done[r] < finish[r] else 0
                for g in np.flatnonzero(real) if done[r] < finish[r] else ():
                    count = int(own[r][g + 1])
                    for t in tracks:
                        due = count == t.total or (every is not None and count % every == 0)
                        if t.ratio == r and last[t] < count <= t.total and due:
                            marks.setdefault((g + 1) * r, set()).add(t)
                            last[t] = count
                    if count == finish[r]:
                        stop[r] = (g + 1) * r
                        break
                if every is None and b == len(blocks) - 1:  # the epoch's end
                    for t in tracks:
                        if t.ratio == r and last[t] < min(int(own[r][-1]), t.total):
                            marks.setdefault(rows, set()).add(t)
                            last[t] = int(own[r][-1])
                done[r] = int(own[r][-1])
            lo = 0
            for p in sorted({*marks, rows}):
                bounds = np.array(
                    [[min(lo // r * r, stop[r]), min(p // r * r, stop[r])] for r in ratios],
                    np.int32,
                )
                if np.any(bounds[:, 1] > bounds[:, 0]):
                    calls.append(Call(block, bounds))
                lo = p
                if p in marks:
                    steps = {r: min(int(own[r][p // r]), finish[r]) for r in ratios}
                    yield Round(calls, frozenset(marks[p]), steps)
                    calls = []
            if all(last[t] >= t.total for t in tracks):
                return


def whole_epoch(blocks: list[Block], *, ratios: Sequence[int], piece: int) -> Round:
    """One epoch as one round: every ratio steps through all of its minibatches and every
    config is evaluated at its end (a streaming population's round, engine.py). Its calls
    are those `evaluation_rounds` makes of the epoch for configs of a one-epoch budget."""
    tracks = [Track(r, steps_per_epoch(blocks, r)) for r in ratios]
    rounds = list(
        evaluation_rounds(
            lambda _: blocks,
            ratios=ratios,
            tracks=[t for t in tracks if t.total > 0],
            every=None,
            piece=piece,
        )
    )
    calls = [call for round_ in rounds for call in round_.calls]
    return Round(calls, frozenset(tracks), {t.ratio: t.total for t in tracks})


def streaming_rounds(slots: int, epochs: Sequence[int]) -> int:
    """The rounds a streaming population runs when no config ends before its last epoch:
    its trials, `epochs` each, in order, each taking the first slot to free."""
    free = [0] * slots
    for count in epochs:
        heapq.heappush(free, heapq.heappop(free) + count)
    return max(free)
