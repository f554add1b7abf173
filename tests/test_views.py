"""views.py: a split as a population evaluates it (every example once, each block at its
bucket's width, totals summed over blocks) and the data placed on a population's devices.
(Truncation to a config's max_length and clipped buckets: test_max_length.py.)"""

import functools
import gzip
import math
from types import SimpleNamespace

import jax
import numpy as np
from data_slices import SHARED

from jaxtune.data.dataset import Split, TextDataset
from jaxtune.sharding import replicated
from jaxtune.views import DataView, EvalPlan

LABELS = ("sadness", "joy", "love", "anger", "fear", "surprise")
C = len(LABELS)


@functools.cache
def emotion(rows=90, skip=0):
    """The first `rows` (after `skip`) emotion validation texts as a Split, one id per word."""
    with gzip.open(SHARED / "emotion" / "val.txt.gz", "rt", encoding="utf-8") as handle:
        lines = handle.read().splitlines()[skip : skip + rows]
    texts, labels = zip(*(line.rsplit(";", 1) for line in lines), strict=True)
    words = [text.split() for text in texts]
    vocab = {word: i + 2 for i, word in enumerate(sorted({w for ws in words for w in ws}))}
    lengths = np.array([len(ws) for ws in words], np.int32)
    tokens = np.zeros((rows, lengths.max()), np.int32)
    for row, ws in enumerate(words):
        tokens[row, : len(ws)] = [vocab[w] for w in ws]
    return Split(tokens, lengths, np.array([LABELS.index(label) for label in labels], np.int32))


class RecordingPopulation:
    """Stands in for a Population: a fake two-config model whose totals are easy sums.

    Config k's loss per example is (k + 1) * its length; it predicts class first token % C.
    Records each example it sees and the width of the split it was given.
    """

    def __init__(self):
        self.seen = []  # (example id, split width)

    def evaluate_totals(self, per_config, split, index, weights):
        params, inputs = per_config
        assert inputs == {"variant": None, "model": {}}  # an unmerged built-in population's
        tokens, lengths, labels = (
            np.asarray(a) for a in (split.tokens, split.lengths, split.labels)
        )
        real = np.asarray(index)[np.asarray(weights) > 0]
        self.seen += [(int(i), tokens.shape[1]) for i in real]
        loss = np.asarray(params) * lengths[real].sum()  # [K]
        confusion = np.zeros((len(params), C, C), np.float32)
        np.add.at(confusion, (slice(None), labels[real], tokens[real, 0] % C), 1.0)
        return {"loss_sum": loss, "confusion": confusion}, {}

    def eval_inputs(self, hparams):
        return {"variant": hparams.get("variant"), "model": {}}

    def metrics(self, totals):
        return totals


def expected_totals(split, params):
    confusion = np.zeros((len(params), C, C), np.float32)
    np.add.at(confusion, (slice(None), split.labels, split.tokens[:, 0] % C), 1.0)
    return params * split.lengths.sum(), confusion


PARAMS = np.array([1.0, 2.0], np.float32)


def test_an_unbucketed_plan_evaluates_every_example_once_at_the_full_width():
    split = emotion()
    plan = EvalPlan.of(split, 16, None)
    assert [block.length for block in plan.blocks] == [split.max_length]
    assert plan.blocks[0].index.shape[1] == 16  # the evaluation batch size
    population = RecordingPopulation()
    totals = plan.evaluate(population, PARAMS, {})
    assert sorted(i for i, _ in population.seen) == list(range(len(split)))
    assert {width for _, width in population.seen} == {split.max_length}
    expected_loss, expected_confusion = expected_totals(split, PARAMS)
    np.testing.assert_allclose(totals["loss_sum"], expected_loss)
    np.testing.assert_array_equal(totals["confusion"], expected_confusion)


def test_a_bucketed_plan_sums_its_blocks_to_the_unbucketed_totals():
    split = emotion()
    buckets = (8, 16, int(split.max_length))
    plan = EvalPlan.of(split, 16, buckets)
    assert sorted(plan.splits) == [block.length for block in plan.blocks]
    for width, device_split in plan.splits.items():
        np.testing.assert_array_equal(device_split.tokens, split.tokens[:, :width])
    population = RecordingPopulation()
    totals = plan.evaluate(population, PARAMS, {})
    seen = dict(population.seen)
    assert len(population.seen) == len(seen) == len(split)  # every example exactly once
    for example, width in seen.items():
        # ...in the narrowest bucket that holds it.
        length = split.lengths[example]
        assert width == min(b for b in buckets if b >= length), (example, length, width)
    unbucketed = EvalPlan.of(split, 16, None).evaluate(RecordingPopulation(), PARAMS, {})
    np.testing.assert_allclose(totals["loss_sum"], unbucketed["loss_sum"])
    np.testing.assert_array_equal(totals["confusion"], unbucketed["confusion"])


def dataset():
    return TextDataset(
        name="emotion",
        train=emotion(),
        val=emotion(40, skip=90),
        test=emotion(8, skip=130),
        vocab=("<pad>", "<unk>"),
        label_names=LABELS,
    )


def test_a_view_without_buckets_trains_and_evaluates_at_its_width():
    view = DataView.of(dataset(), 12, None, eval_batch_size=8)
    assert view.buckets is None and list(view.train_splits) == [12]
    np.testing.assert_array_equal(view.train_splits[12].tokens, dataset().train.tokens[:, :12])
    assert [block.length for block in view.val_plan.blocks] == [12]
    np.testing.assert_array_equal(
        view.val_plan.splits[12].lengths, np.minimum(dataset().val.lengths, 12)
    )


def test_on_puts_the_views_data_on_the_devices_of_a_population_of_that_width():
    """A population of width K uses gcd(K, devices) devices (sharding.py): 4 fake CPU
    devices (conftest.py) give 2 for width 2, 4 for width 4 and one for width 3."""
    devices = jax.local_devices()
    population = SimpleNamespace(share=lambda data, width: replicated(data, width, devices))
    view = DataView.of(dataset(), 12, (6, 12), eval_batch_size=8)
    for width in (2, 3, 4):
        count = math.gcd(width, len(devices))
        placed = view.on(population, width)
        for array in jax.tree.leaves((placed.train_splits, placed.val_plan.splits)):
            assert len(array.sharding.device_set) == count, width
        assert placed.val_plan.blocks is view.val_plan.blocks
        np.testing.assert_array_equal(placed.train_splits[6].tokens, view.train_splits[6].tokens)
    # The view itself is unchanged: it is placed again for each population.
    for array in jax.tree.leaves(view.train_splits):
        assert len(array.sharding.device_set) == 1
