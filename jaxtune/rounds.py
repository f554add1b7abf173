"""The training stream cut into evaluation rounds: every epoch, or every N optimizer steps.

The engine trains a population on one stream of minibatch blocks (each epoch's blocks in
order, `data/bucketing.py`) and evaluates at the end of every round. A round ends after
`every` real steps (a step whose batch holds at least one example) or when the stream
reaches `total_steps`. Per-epoch evaluation is `every = steps_per_epoch`, so rounds
end exactly at epoch boundaries.

A merged program's stream (`Stream`) is cut at its smallest batch size; a config of
batch size b takes b / micro of its minibatches per step.

A block cut at a round boundary becomes two blocks, each padded back to `piece` rows
with empty steps (all weights 0), which the train step skips exactly: every block of a
bucket length keeps one static shape, so rounds never add compilations.
"""

from __future__ import annotations

import dataclasses
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
class Round:
    blocks: list[Block]
    steps: int  # real steps of the whole stream at the end of the round
    epochs: float  # steps / steps_per_epoch


def real_steps(block: Block, ratio: int = 1) -> int:
    """Steps of the block whose batch holds at least one example; with `ratio`, steps of
    `ratio` consecutive rows each (a merged program's larger batch size, step.Variant)."""
    rows = block.weight.sum(axis=1).reshape(-1, ratio)  # [S / ratio, ratio]
    return int(np.count_nonzero(rows.sum(axis=1) > 0))


def steps_per_epoch(blocks: list[Block], ratio: int = 1) -> int:
    return sum(real_steps(b, ratio) for b in blocks)


def _padded(block: Block, rows: slice, piece: int) -> Block:
    """Rows of a block, padded with empty steps to `piece` rows."""
    index, weight = block.index[rows], block.weight[rows]
    fill = piece - index.shape[0]
    return Block(
        block.length,
        np.concatenate([index, np.zeros((fill, index.shape[1]), index.dtype)]),
        np.concatenate([weight, np.zeros((fill, weight.shape[1]), weight.dtype)]),
    )


def _split(block: Block, real: int, piece: int) -> tuple[Block, Block]:
    """(the block's first `real` real steps, the rest), each padded to `piece` rows."""
    has_examples = block.weight.sum(axis=1) > 0
    cut = int(np.flatnonzero(has_examples)[real - 1]) + 1
    return _padded(block, slice(0, cut), piece), _padded(block, slice(cut, None), piece)


def evaluation_rounds(
    epoch_blocks: Callable[[int], list[Block]],
    *,
    every: int,
    total_steps: int,
    per_epoch: int,
    piece: int | None = None,
) -> Iterator[Round]:
    """Rounds of `every` real steps over the epochs' blocks, up to `total_steps` in all.

    epoch_blocks(e): epoch e's blocks (each of `piece` rows when given, else one block per
    epoch, which is cut into blocks of min(every, per_epoch) rows). per_epoch: real steps
    per epoch.
    """
    if piece is None:
        piece = min(every, per_epoch)
    done, in_round, blocks, epoch = 0, 0, [], 0
    while done < total_steps:
        queue = list(epoch_blocks(epoch))
        epoch += 1
        while queue and done < total_steps:
            block = queue.pop(0)
            if block.steps > piece:  # one whole-epoch block: rows of `piece` steps
                queue[:0] = [
                    _padded(block, slice(s, s + piece), piece) for s in range(0, block.steps, piece)
                ]
                continue
            real = real_steps(block)
            room = min(every - in_round, total_steps - done)
            if real > room:
                block, rest = _split(block, room, piece)
                queue.insert(0, rest)
                real = room
            if real:
                blocks.append(block)
            done += real
            in_round += real
            if in_round == every or done == total_steps:
                yield Round(blocks, done, done / per_epoch)
                blocks, in_round = [], 0
    if blocks:
        yield Round(blocks, done, done / per_epoch)
