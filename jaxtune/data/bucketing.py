"""Length bucketing: epoch plans whose minibatches are padded to a few static lengths.

Training uses "sort within chunks": the epoch's seeded shuffle is cut into
chunks of `chunk_batches` batches, each chunk is sorted by length and cut into
batches, so a batch holds examples of similar length drawn from a random part
of the data. Each batch is padded to the smallest bucket length that holds its
longest example. The trainer runs a bucket as a jitted loop over a fixed
`block_steps`, so batches of one bucket are grouped into blocks of exactly that
many steps (the last block of a bucket is filled with all-zero-weight batches at
its end, which the trainer never computes: its loop stops after the last real
batch), and the blocks come in a seeded order. The number of
blocks per bucket varies by epoch; their shapes never do, so nothing recompiles.

Every plan depends only on (seed, epoch, lengths, batch_size, buckets,
block_steps), so all configs of a sweep see the same batches in the same order.
A padded slot in a batch holds index 0 at weight 0, as `dataset.padded_batches`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from jaxtune.data.dataset import padded_batches

CHUNK_BATCHES = 64


@dataclasses.dataclass(frozen=True)
class Block:
    """`steps` minibatches that all fit in `length` tokens."""

    length: int  # bucket length: tokens[:, :length] holds every example of the block
    index: np.ndarray  # [S, B] int32 example ids
    weight: np.ndarray  # [S, B] float32: 1 real, 0 padding (whole rows of 0: skipped steps)

    @property
    def steps(self) -> int:
        return self.index.shape[0]


def check_buckets(buckets: Sequence[int], lengths: np.ndarray | None = None) -> tuple[int, ...]:
    """`buckets` as a strictly increasing tuple of positive ints covering `lengths`."""
    buckets = tuple(int(b) for b in buckets)
    if (
        not buckets
        or buckets[0] < 1
        or any(a >= b for a, b in zip(buckets[:-1], buckets[1:], strict=True))
    ):
        raise ValueError(f"buckets must be increasing positive lengths, found {list(buckets)}")
    if lengths is not None and len(lengths) and int(np.max(lengths)) > buckets[-1]:
        raise ValueError(
            f"the longest example has {int(np.max(lengths))} tokens, above the largest "
            f"bucket {buckets[-1]}"
        )
    return buckets


def bucket_of(lengths: np.ndarray, buckets: Sequence[int]) -> np.ndarray:
    """Index of the smallest bucket >= each length. lengths: [N] -> [N] int64."""
    return np.searchsorted(np.asarray(buckets), lengths, side="left")


def choose_buckets(lengths: np.ndarray, max_buckets: int) -> tuple[int, ...]:
    """At most `max_buckets` lengths that minimise padding when each example is padded alone.

    Exact dynamic programme over the distinct lengths: a bucket ends at a length
    that occurs, and the last bucket is the longest example. Padding inside
    sort-within-chunks batches is a little above this per-example optimum.
    """
    lengths = np.asarray(lengths)
    if max_buckets < 1:
        raise ValueError(f"max_buckets must be at least 1, found {max_buckets}")
    if not len(lengths):
        raise ValueError("no lengths to choose buckets from")
    values, counts = np.unique(lengths, return_counts=True)
    if len(values) <= max_buckets:
        return tuple(int(v) for v in values)
    # Prefix sums over distinct values: a bucket covering values[i:j] pads to values[j-1].
    count_prefix = np.concatenate([[0], np.cumsum(counts)])  # [M + 1]
    sum_prefix = np.concatenate([[0], np.cumsum(counts * values)])  # [M + 1]
    m = len(values)
    ends = np.arange(1, m + 1)

    def cost(start: np.ndarray, end: int) -> np.ndarray:  # padded tokens of values[start:end]
        return values[end - 1] * (count_prefix[end] - count_prefix[start]) - (
            sum_prefix[end] - sum_prefix[start]
        )

    best = np.full((max_buckets + 1, m + 1), np.inf)  # best[b, j]: values[:j] in b buckets
    choice = np.zeros((max_buckets + 1, m + 1), np.int64)
    best[0, 0] = 0.0
    for b in range(1, max_buckets + 1):
        for j in ends:
            starts = np.arange(j)
            total = best[b - 1, :j] + cost(starts, j)
            choice[b, j] = int(np.argmin(total))
            best[b, j] = total[choice[b, j]]
    b = int(np.argmin(best[:, m]))
    edges, j = [], m
    while b > 0:
        edges.append(int(values[j - 1]))
        j = choice[b, j]
        b -= 1
    return tuple(sorted(edges))


def train_plan(
    lengths: np.ndarray,
    batch_size: int,
    *,
    seed: int,
    epoch: int,
    buckets: Sequence[int],
    block_steps: int,
    chunk_batches: int = CHUNK_BATCHES,
) -> list[Block]:
    """The training blocks of one epoch (see the module docstring). lengths: [N] int."""
    lengths = np.asarray(lengths)
    buckets = check_buckets(buckets, lengths)
    if batch_size < 1 or block_steps < 1 or chunk_batches < 1:
        raise ValueError("batch_size, block_steps and chunk_batches must be positive")
    rng = np.random.default_rng([seed, epoch])
    batches = sorted_in_chunks(lengths, batch_size, rng, chunk_batches)
    longest = np.array([lengths[batch].max() for batch in batches], np.int64)
    batch_buckets = bucket_of(longest, buckets)
    blocks = []
    for b, length in enumerate(buckets):
        members = [batches[i] for i in np.flatnonzero(batch_buckets == b)]
        for start in range(0, len(members), block_steps):
            blocks.append(
                _block(length, members[start : start + block_steps], batch_size, block_steps)
            )
    return [blocks[i] for i in rng.permutation(len(blocks))]


def sorted_in_chunks(
    lengths: np.ndarray, batch_size: int, rng: np.random.Generator, chunk_batches: int
) -> list[np.ndarray]:
    """An epoch's batches of example ids: a shuffle cut into chunks of `chunk_batches`
    batches, each chunk sorted by length and cut into batches, the batches shuffled."""
    order = rng.permutation(len(lengths))
    chunk = chunk_batches * batch_size
    batches = []
    for start in range(0, len(order), chunk):
        part = order[start : start + chunk]
        part = part[np.argsort(lengths[part], kind="stable")]
        batches.extend(part[i : i + batch_size] for i in range(0, len(part), batch_size))
    # Mix batches of one bucket across chunks, so a block is not short-to-long within a chunk.
    return [batches[i] for i in rng.permutation(len(batches))]


def _block(length: int, batches: list[np.ndarray], batch_size: int, steps: int) -> Block:
    index = np.zeros((steps, batch_size), np.int32)  # [S, B]
    weight = np.zeros((steps, batch_size), np.float32)  # [S, B]
    for step, batch in enumerate(batches):
        index[step, : len(batch)] = batch
        weight[step, : len(batch)] = 1.0
    return Block(length=length, index=index, weight=weight)


def eval_plan(lengths: np.ndarray, batch_size: int, buckets: Sequence[int]) -> list[Block]:
    """Every example once: per bucket (ascending), its examples in file order, one block each.

    The block shapes depend only on the split, so evaluation compiles once per bucket.
    """
    lengths = np.asarray(lengths)
    buckets = check_buckets(buckets, lengths)
    assigned = bucket_of(lengths, buckets)
    blocks = []
    for b, length in enumerate(buckets):
        members = np.flatnonzero(assigned == b)
        if len(members):
            index, weight = padded_batches(members, batch_size)
            blocks.append(Block(length=length, index=index, weight=weight))
    return blocks


def padding_waste(lengths: np.ndarray, plan: Sequence[Block] | Sequence[int] | int) -> float:
    """Padded tokens / real tokens over the real examples (1.0 means no padding).

    `plan` is a list of Blocks (what a plan costs), bucket lengths (each example
    padded alone to its bucket: the lower bound for those buckets), or one int (plain
    padding of every example to that length).
    """
    lengths = np.asarray(lengths, np.int64)
    real = int(lengths.sum())
    if isinstance(plan, int | np.integer):
        return len(lengths) * int(plan) / real
    plan = list(plan)
    if plan and isinstance(plan[0], Block):
        padded = sum(block.length * float(block.weight.sum()) for block in plan)
        counted = sum(int(lengths[block.index[block.weight > 0]].sum()) for block in plan)
        return padded / counted
    buckets = np.asarray(check_buckets(plan, lengths))
    return int(buckets[bucket_of(lengths, buckets)].sum()) / real


def empty_steps(plan: Sequence[Block]) -> int:
    """Steps with no real example (fill at the end of each bucket's last block)."""
    return sum(int((block.weight.sum(axis=1) == 0).sum()) for block in plan)
