"""Datasets as tokenized int arrays: the synthetic tasks, local files, TFDS builders, GloVe vectors.

`sources.load_dataset` is the entry point; its modules import `tokenizers` and
(for the tfds source only) `tensorflow_datasets`, so they are not imported here.
"""

from jaxtune.data.dataset import Split, TextDataset

__all__ = ["Split", "TextDataset"]
