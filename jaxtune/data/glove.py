"""Pretrained word vectors in GloVe text format: a vocabulary's embedding matrix and coverage.

The file is read as a stream and only the vectors of vocabulary words are kept,
so a 400k-word file costs memory for the vocabulary only. Every line's field
count is checked (the dimension comes from the first line); the numbers of
kept lines are parsed and checked too. A word2vec-style first line `COUNT DIM`
is recognised and skipped.
"""

from __future__ import annotations

import dataclasses
import gzip
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from jaxtune.data.dataset import OOV_ID, PAD_ID
from jaxtune.data.examples import DataError
from jaxtune.data.files import GZIP_MAGIC


@dataclasses.dataclass(frozen=True)
class Coverage:
    """How much of a vocabulary (and of its training tokens) has pretrained vectors."""

    path: str
    dim: int
    vocab_types: int  # vocabulary words, not counting <pad> and <unk>
    covered_types: int
    lowercase_matches: int  # covered only through the word's lowercase form
    vectors_read: int  # lines in the file
    token_count: int | None = None  # real training tokens, <unk> included
    covered_tokens: int | None = None

    @property
    def type_coverage(self) -> float:
        return self.covered_types / max(self.vocab_types, 1)

    @property
    def token_coverage(self) -> float | None:
        if self.token_count is None:
            return None
        return self.covered_tokens / max(self.token_count, 1)

    def summary(self) -> str:
        text = (
            f"{Path(self.path).name}: {self.covered_types}/{self.vocab_types} vocabulary words "
            f"({self.type_coverage:.1%})"
        )
        if self.token_coverage is not None:
            text += f", {self.token_coverage:.1%} of training tokens"
        return text


def read_vectors(path: str | Path, words: set[str]) -> tuple[dict[str, np.ndarray], int, int]:
    """The vectors of `words` in a GloVe text file (first occurrence of a word wins).

    Returns:
      ({word: [D] float32}, D, number of vector lines read).
    """
    path = Path(path)
    try:
        with open(path, "rb") as raw:
            compressed = raw.read(2) == GZIP_MAGIC
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except OSError as error:
        raise DataError(f"{path}: cannot read: {error.strerror or error}") from None
    vectors = {}
    dim = None
    count = 0
    opener = gzip.open if compressed else open
    with opener(path, "rb") as handle:
        number = 0
        for number, raw_line in enumerate(handle, 1):  # noqa: B007  (read after the loop)
            try:
                line = raw_line.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as error:
                raise DataError(
                    f"{path}:{number}: found bytes that are not UTF-8 "
                    f"({raw_line[error.start : error.start + 4]!r}); expected UTF-8 text"
                ) from None
            if dim is None:
                fields = line.split(" ")
                if len(fields) == 2 and all(f.isdigit() for f in fields):
                    dim = int(fields[1])  # word2vec header: "COUNT DIM"
                    continue
                if len(fields) < 2:
                    raise DataError(
                        f"{path}:{number}: found {_preview(line)}; expected 'word v1 v2 ... vD'"
                    )
                dim = len(fields) - 1
            # rsplit: a few published files (glove.840B) have words that contain spaces.
            fields = line.rsplit(" ", dim)
            if len(fields) != dim + 1 or not fields[0]:
                raise DataError(
                    f"{path}:{number}: found {len(fields) - 1} numbers after the word "
                    f"{fields[0]!r}; expected {dim} like the first line"
                )
            count += 1
            word = fields[0]
            if word in words and word not in vectors:
                try:
                    vector = np.array(fields[1:], np.float32)
                except ValueError:
                    vector = None
                if vector is None or not np.all(np.isfinite(vector)):
                    raise DataError(
                        f"{path}:{number}: found a non-numeric or non-finite value in the vector "
                        f"of {word!r}; expected {dim} finite numbers"
                    )
                vectors[word] = vector
    if dim is None:
        raise DataError(f"{path}: found no vectors; expected lines 'word v1 v2 ... vD'")
    return vectors, dim, count


def _preview(text: str, width: int = 40) -> str:
    return repr(text if len(text) <= width else text[:width] + "...")


def embedding_matrix(
    path: str | Path,
    vocab: Sequence[str],
    *,
    seed: int = 0,
    token_counts: np.ndarray | None = None,
) -> tuple[np.ndarray, Coverage]:
    """The [V, D] float32 embedding for `vocab` (id -> token) from a GloVe file.

    Covered rows are the pretrained vectors (a word missing as written is looked up
    in lowercase); the other rows, `<unk>` included, are drawn from a normal with
    the standard deviation of the loaded vectors, seeded by `seed`; the PAD_ID row
    is zero.

    Args:
      token_counts: [V] counts of each id in the training tokens, for token coverage.
    """
    specials = {PAD_ID, OOV_ID}
    wanted = {word for i, word in enumerate(vocab) if i not in specials}
    wanted |= {word.lower() for word in wanted}
    vectors, dim, count = read_vectors(path, wanted)
    if not vectors:
        raise DataError(
            f"{path}: found none of the {len(vocab) - len(specials)} vocabulary words among "
            f"{count} vectors; expected a vector file for this language and casing"
        )
    loaded = np.stack(list(vectors.values()))  # [covered, D]
    scale = float(loaded.std()) or 1.0 / math.sqrt(dim)
    matrix = np.random.default_rng(seed).normal(0.0, scale, (len(vocab), dim))  # [V, D]
    matrix = matrix.astype(np.float32)
    covered = np.zeros(len(vocab), bool)
    lowercase_matches = 0
    for i, word in enumerate(vocab):
        if i in specials:
            continue
        vector = vectors.get(word)
        if vector is None and word.lower() in vectors:
            vector = vectors[word.lower()]
            lowercase_matches += 1
        if vector is not None:
            matrix[i] = vector
            covered[i] = True
    matrix[PAD_ID] = 0.0
    token_count = covered_tokens = None
    if token_counts is not None:
        token_counts = np.asarray(token_counts)
        token_count = int(token_counts.sum() - token_counts[PAD_ID])
        covered_tokens = int(token_counts[covered].sum())
    coverage = Coverage(
        path=str(path),
        dim=dim,
        vocab_types=len(vocab) - len(specials),
        covered_types=int(covered.sum()),
        lowercase_matches=lowercase_matches,
        vectors_read=count,
        token_count=token_count,
        covered_tokens=covered_tokens,
    )
    return matrix, coverage
