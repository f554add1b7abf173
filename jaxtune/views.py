"""The data as a population sees it: its max_length's splits on device, the epoch's
blocks of minibatches, and the validation (or test) plan of one width."""

from __future__ import annotations

import dataclasses
from typing import Any

import jax

from jaxtune.data import bucketing
from jaxtune.data.dataset import Split, TextDataset, sequential_batches
from jaxtune.data.widths import clip_buckets
from jaxtune.edit_distance import edit_sums
from jaxtune.population.factory import Population
from jaxtune.population.step import to_device


@dataclasses.dataclass
class EvalPlan:
    """Every example of a split once, in blocks of one width, with the split on device."""

    blocks: list[bucketing.Block]
    splits: dict[int, Any]  # width -> DeviceSplit truncated to it
    targets: tuple[Any, Any] | None = None  # ctc: the split's labels, label_lengths on host

    @classmethod
    def of(cls, split, batch_size: int, buckets: tuple[int, ...] | None) -> EvalPlan:
        if buckets is None:
            index, weights = sequential_batches(len(split), batch_size)
            blocks = [bucketing.Block(split.max_length, index, weights)]
        else:
            blocks = bucketing.eval_plan(split.lengths, batch_size, buckets)
        targets = None if split.label_lengths is None else (split.labels, split.label_lengths)
        return cls(blocks, {b.length: to_device(split.truncate(b.length)) for b in blocks}, targets)

    def evaluate(self, population: Population, params, hparams, wanted=None) -> dict[str, Any]:
        """Metrics of every config ([K] each); `hparams`: the configs' ({name: [K]}; what
        an evaluation reads of them: Population.eval_inputs); `wanted`: None, or [K] bool,
        the configs whose metrics are used (the others' may be skipped)."""
        inputs = population.eval_inputs(hparams)
        per_config = (params, inputs) if wanted is None else (params, inputs, wanted)
        totals = None
        for block in self.blocks:
            part, stacked = population.evaluate_totals(
                per_config, self.splits[block.length], block.index, block.weight
            )
            if stacked:  # ctc's decodings: their edit distances, on the host
                decoded = jax.device_get(stacked)
                edits = edit_sums(
                    decoded["decoded"],
                    decoded["decoded_lengths"],
                    *self.targets,
                    block.index,
                    block.weight,
                    wanted,
                )
                part = {**part, "edits": part["edits"] + jax.device_put(edits)}
            totals = part if totals is None else jax.tree.map(jax.numpy.add, totals, part)
        return population.metrics(totals)


@dataclasses.dataclass
class DataView:
    """The training and validation data as configs of one `max_length` see them."""

    train: Split  # truncated to the width (lengths clipped)
    buckets: tuple[int, ...] | None
    train_splits: dict[int, Any]  # bucket length (or the width) -> DeviceSplit
    val_plan: EvalPlan

    @classmethod
    def of(cls, dataset: TextDataset, width: int, buckets, eval_batch_size: int) -> DataView:
        train, buckets = dataset.train.truncate(width), clip_buckets(buckets, width)
        lengths = (train.max_length,) if buckets is None else buckets
        return cls(
            train,
            buckets,
            {b: to_device(train.truncate(b)) for b in lengths},
            EvalPlan.of(dataset.val.truncate(width), eval_batch_size, buckets),
        )

    def on(self, population: Population, width: int) -> DataView:
        """This view with its device splits on every device a population of `width` uses
        (`Population.share`): put there once, not copied by each call."""
        train, val = population.share((self.train_splits, self.val_plan.splits), width)
        val_plan = dataclasses.replace(self.val_plan, splits=val)
        return dataclasses.replace(self, train_splits=train, val_plan=val_plan)
