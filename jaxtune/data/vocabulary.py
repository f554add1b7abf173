"""A sweep's vocabulary and encoded splits, built once and cached in its directory.

The tokenizer is saved as `tokenizer.json` with the settings and a digest of the
training texts it came from, so `final` and `resume` see the same ids; a changed data
section or training file is an error rather than a silent change of ids. The encoded
splits are cached under a key of the tokenizer, the texts and the width.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from jaxtune.data import tokenize
from jaxtune.data.examples import DataError
from jaxtune.layout import ENCODED_FILE, TOKENIZER_FILE, TOKENIZER_SETTINGS_FILE
from jaxtune.spec.data import DataSpec

SPLITS = ("train", "val", "test")


def cached_tokenizer(spec: DataSpec, texts: list[str], cache_dir):
    """The tokenizer trained on `texts` with the spec's settings; with a `cache_dir`, saved
    there on first use and loaded afterwards (other data or settings: a DataError)."""
    settings = {
        "min_frequency": spec.min_frequency,
        "max_vocab_size": spec.max_vocab_size,
        "lowercase": spec.lowercase,
        "replacements": [list(pair) for pair in spec.replacements or ()],
        "train_examples": len(texts),
        "train_sha256": digest(texts),
    }
    if cache_dir is None:
        return train_for(spec, texts), None
    path = Path(cache_dir) / TOKENIZER_FILE
    settings_path = Path(cache_dir) / TOKENIZER_SETTINGS_FILE
    if path.exists():
        saved = json.loads(settings_path.read_text()) if settings_path.exists() else None
        if saved != settings:
            changed = sorted(k for k in settings if saved is None or saved.get(k) != settings[k])
            raise DataError(
                f"{path}: found a tokenizer built from other data or settings "
                f"({', '.join(changed)} differ); expected the data section it was built "
                "with, or a new sweep directory"
            )
        return tokenize.load_tokenizer(path), path
    tokenizer = train_for(spec, texts)
    tokenize.save_tokenizer(tokenizer, path)
    partial = settings_path.with_name(settings_path.name + ".partial")
    partial.write_text(json.dumps(settings, indent=1) + "\n")
    partial.replace(settings_path)
    return tokenizer, path


def cached_encoding(tokenizer, examples, max_length: int, cache_dir) -> dict[str, tokenize.Encoded]:
    """Every split encoded, or read back from `cache_dir` if tokenizer, texts and length match."""
    key = hashlib.sha256(tokenizer.to_str().encode("utf-8"))
    key.update(str(max_length).encode())
    for split in SPLITS:
        key.update(digest(examples[split].texts).encode())
    key = key.hexdigest()
    path = Path(cache_dir) / ENCODED_FILE if cache_dir is not None else None
    if path is not None and path.exists():
        with np.load(path) as saved:
            if str(saved["key"]) == key:
                fields = tokenize.Encoded._fields
                return {
                    split: tokenize.Encoded(*(saved[f"{split}.{f}"] for f in fields))
                    for split in SPLITS
                }
    encoded = {
        split: tokenize.encode_ids(tokenizer, examples[split].texts, max_length) for split in SPLITS
    }
    if path is not None:
        arrays = {f"{s}.{f}": v for s, e in encoded.items() for f, v in e._asdict().items()}
        partial = path.with_name(path.name + ".partial")
        with open(partial, "wb") as handle:
            np.savez(handle, key=np.array(key), **arrays)
        partial.replace(path)
    return encoded


def digest(texts: list[str]) -> str:
    return hashlib.sha256("\0".join(texts).encode("utf-8")).hexdigest()


def train_for(spec: DataSpec, texts: list[str]):
    return tokenize.train_tokenizer(
        texts,
        min_frequency=spec.min_frequency,
        max_vocab_size=spec.max_vocab_size,
        lowercase=spec.lowercase,
        replacements=spec.replacements or (),
    )
