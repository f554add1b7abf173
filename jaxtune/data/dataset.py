"""Tokenized splits as int32 arrays with true lengths, and the shared epoch order."""

from __future__ import annotations

import dataclasses

import numpy as np

PAD_ID = 0
OOV_ID = 1


@dataclasses.dataclass(frozen=True)
class Split:
    """One split: tokens [N, T] int32 (PAD_ID after each length), lengths [N] int32, labels.

    `labels` by task: classify [N] int32; tag [N, T] int32, the label of each token (0 after
    each length, masked by `lengths` downstream); ctc [N, S] int32, target ids in 1..C-1
    (0, the blank, after each label length) with `label_lengths` [N] int32.
    """

    tokens: np.ndarray
    lengths: np.ndarray
    labels: np.ndarray
    label_lengths: np.ndarray | None = None

    def __post_init__(self):
        n, width = self.tokens.shape
        assert self.lengths.shape == (n,)
        if self.label_lengths is None:
            assert self.labels.shape in ((n,), (n, width))
        else:
            assert self.labels.ndim == 2 and self.labels.shape[0] == n
            assert self.label_lengths.shape == (n,)

    def __len__(self) -> int:
        return self.tokens.shape[0]

    @property
    def max_length(self) -> int:
        return self.tokens.shape[1]

    def truncate(self, max_length: int) -> Split:
        """Keep the first `max_length` tokens of each example (and tags); ctc targets stay whole."""
        if max_length >= self.max_length:
            return self
        per_token = self.labels.ndim == 2 and self.label_lengths is None  # tag
        return Split(
            tokens=self.tokens[:, :max_length],
            lengths=np.minimum(self.lengths, max_length),
            labels=self.labels[:, :max_length] if per_token else self.labels,
            label_lengths=self.label_lengths,
        )


@dataclasses.dataclass(frozen=True)
class TextDataset:
    name: str
    train: Split
    val: Split
    test: Split
    vocab: tuple[str, ...]  # id -> token; vocab[PAD_ID] is the padding token
    label_names: tuple[str, ...]  # id -> label; for ctc label_names[0] is "<blank>"
    task: str = "classify"  # classify, tag or ctc: the shape of each split's labels

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    @property
    def num_classes(self) -> int:
        return len(self.label_names)

    def decode(self, tokens: np.ndarray, length: int) -> str:
        return " ".join(self.vocab[t] for t in tokens[:length])


def epoch_batches(num_examples: int, batch_size: int, seed: int, epoch: int):
    """The shuffled minibatch order of one epoch, shared by every config of a sweep.

    Every example appears exactly once; the last batch is filled with index 0 at weight 0
    so that all batches have one static shape.

    Returns:
      index: [S, B] int32 example ids, weight: [S, B] float32 (1 real, 0 padding).
    """
    order = np.random.default_rng([seed, epoch]).permutation(num_examples)
    return padded_batches(order, batch_size)


def sequential_batches(num_examples: int, batch_size: int):
    """Evaluation order: every example once, in file order, padded like `epoch_batches`."""
    return padded_batches(np.arange(num_examples), batch_size)


def padded_batches(order: np.ndarray, batch_size: int):
    num_batches = -(-len(order) // batch_size)
    index = np.zeros(num_batches * batch_size, np.int32)
    weight = np.zeros(num_batches * batch_size, np.float32)
    index[: len(order)] = order
    weight[: len(order)] = 1.0
    return index.reshape(num_batches, batch_size), weight.reshape(num_batches, batch_size)
