"""Datasets as tokenized int arrays: the built-in synthetic task and (later) local files."""

from jaxtune.data.dataset import Split, TextDataset

__all__ = ["Split", "TextDataset"]
