"""Small slices of ../shared/data, laid out as the real data directory, for end-to-end tests.

A slice keeps each file's format, compression and header and takes a few hundred of its
rows (IMDB's files hold every negative review before every positive one, so its slice
takes rows from both halves); the GloVe file keeps the vectors of the words the slices
use. A spec run with `--data-dir SLICE` then reads the same files, through the same
code, as with `--data-dir ../shared/data`.
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
GLOVE = "glove/glove.6B.50d.subset.txt.gz"
ROWS = {"train": 300, "val": 100, "dev": 100, "test": 100}
# The tokenizer's two splits (data/tokenize.py): whitespace, and words apart from punctuation.
WORD = re.compile(r"[^\W_]+|[^\w\s]")


def _lines(path: Path) -> list[str]:
    """The file's lines, each with its "\n" (only "\n" ends a line: IMDB texts hold others)."""
    with gzip.open(path, "rb") as handle:
        text = handle.read().decode("utf-8")
    return [line + "\n" for line in text.removesuffix("\n").split("\n")]


def _write(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wb") as handle:
        handle.write("".join(lines).encode("utf-8"))


def _first(lines: list[str], split: str, header: bool = False) -> list[str]:
    return lines[: ROWS[split] + header]


def _both_labels(lines: list[str], split: str, header: bool = False) -> list[str]:
    """IMDB: half the slice from the negative reviews (first), half from the positive."""
    half = ROWS[split] // 2
    middle = len(lines) // 2
    return lines[:half] + lines[middle : middle + half]


def make_slice(directory: Path) -> Path:
    """Write the slice under `directory` and return it (the --data-dir to pass)."""
    texts = []
    for name, header, take in (
        ("emotion/train.txt.gz", False, _first),
        ("emotion/val.txt.gz", False, _first),
        ("emotion/test.txt.gz", False, _first),
        ("sst2/train.tsv.gz", True, _first),
        ("sst2/dev.tsv.gz", True, _first),
        ("imdb/train.jsonl.gz", False, _both_labels),
        ("imdb/test.jsonl.gz", False, _both_labels),
    ):
        split = Path(name).name.split(".")[0]
        rows = take(_lines(SHARED / name), split, header)
        _write(directory / name, rows)
        body = rows[header:]
        if name.startswith("imdb"):
            texts += [json.loads(row)["text"] for row in body]
        else:
            texts += [row.rsplit(";" if name.startswith("emotion") else "\t", 1)[0] for row in body]
    words = set()
    for text in texts:
        words.update(text.lower().split())
        words.update(WORD.findall(text.lower()))
    vectors = [line for line in _lines(SHARED / GLOVE) if line.split(" ", 1)[0] in words]
    _write(directory / GLOVE, vectors)
    return directory
