"""GloVe-format vectors: the embedding matrix of a vocabulary, coverage, and bad-line errors."""

import gzip
from pathlib import Path

import numpy as np
import pytest

from jaxtune.data.examples import DataError
from jaxtune.data.glove import embedding_matrix, read_vectors

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
VECTORS = "good 1 2 3\nbad -1 -2 -3\nplot 0.5 0 0.25\nunused 9 9 9\n"
VOCAB = ("<pad>", "<unk>", "good", "plot", "Bad", "zzz")


def write(path: Path, text: str, compress: bool = False) -> Path:
    data = text.encode("utf-8")
    path.write_bytes(gzip.compress(data, mtime=0) if compress else data)
    return path


@pytest.mark.parametrize("name, compress", [("v.txt", False), ("v.txt.gz", True)])
def test_covered_rows_are_the_vectors_and_pad_is_zero(tmp_path, name, compress):
    path = write(tmp_path / name, VECTORS, compress)
    counts = np.array([50, 7, 10, 5, 3, 2])  # <pad> is never counted as a token
    matrix, coverage = embedding_matrix(path, VOCAB, seed=0, token_counts=counts)
    assert matrix.shape == (6, 3) and matrix.dtype == np.float32
    np.testing.assert_array_equal(matrix[0], 0.0)
    np.testing.assert_array_equal(matrix[2], [1, 2, 3])
    np.testing.assert_array_equal(matrix[3], [0.5, 0, 0.25])
    np.testing.assert_array_equal(matrix[4], [-1, -2, -3])  # "Bad" found as "bad"
    assert coverage.vocab_types == 4  # <pad> and <unk> are not words
    assert coverage.covered_types == 3 and coverage.lowercase_matches == 1
    assert coverage.type_coverage == 0.75
    assert (coverage.token_count, coverage.covered_tokens) == (27, 18)  # <unk> counts as missed
    assert coverage.vectors_read == 4 and coverage.dim == 3
    assert coverage.summary().endswith("3/4 vocabulary words (75.0%), 66.7% of training tokens")


def test_oov_rows_are_seeded_normal_with_the_vectors_scale(tmp_path):
    words = [f"w{i}" for i in range(200)]
    rng = np.random.default_rng(1)
    lines = [f"{w} " + " ".join(f"{x:.4f}" for x in rng.normal(0, 0.4, 8)) for w in words]
    path = write(tmp_path / "v.txt", "\n".join(lines) + "\n")
    vocab = ("<pad>", "<unk>", *words, *(f"oov{i}" for i in range(2000)))
    matrix, _ = embedding_matrix(path, vocab, seed=5)
    oov = matrix[202:]
    assert abs(float(oov.std()) - 0.4) < 0.02 and abs(float(oov.mean())) < 0.02
    assert np.all(matrix[1] != 0)  # <unk> is an OOV row too
    again, _ = embedding_matrix(path, vocab, seed=5)
    np.testing.assert_array_equal(matrix, again)
    other, _ = embedding_matrix(path, vocab, seed=6)
    assert not np.array_equal(matrix[1], other[1])
    np.testing.assert_array_equal(matrix[2:202], other[2:202])


def test_only_vocabulary_vectors_are_kept_and_a_word2vec_header_is_skipped(tmp_path):
    path = write(tmp_path / "v.txt", "4 3\n" + VECTORS)
    vectors, dim, count = read_vectors(path, {"good", "zzz"})
    assert set(vectors) == {"good"} and dim == 3 and count == 4


@pytest.mark.parametrize(
    "content, message",
    [
        (
            "good 1 2 3\nbad 1 2\n",
            "v.txt:2: found 2 numbers after the word 'bad'; expected 3 like the first line",
        ),
        (
            "good 1 2 x\n",
            "v.txt:1: found a non-numeric or non-finite value in the vector of "
            "'good'; expected 3 finite numbers",
        ),
        (
            "good 1 2 nan\n",
            "v.txt:1: found a non-numeric or non-finite value in the vector of "
            "'good'; expected 3 finite numbers",
        ),
        ("lonely\n", "v.txt:1: found 'lonely'; expected 'word v1 v2 ... vD'"),
        ("", "v.txt: found no vectors; expected lines 'word v1 v2 ... vD'"),
        (
            "other 1 2\n",
            "v.txt: found none of the 4 vocabulary words among 1 vectors; "
            "expected a vector file for this language and casing",
        ),
    ],
)
def test_bad_files_give_one_exact_message(tmp_path, monkeypatch, content, message):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "v.txt", content)
    with pytest.raises(DataError) as caught:
        embedding_matrix("v.txt", VOCAB)
    assert str(caught.value) == message


def test_bad_encoding_and_missing_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "v.txt").write_bytes(b"good 1 2 3\nb\xe9d 1 2 3\n")
    with pytest.raises(DataError, match=r"^v\.txt:2: found bytes that are not UTF-8"):
        embedding_matrix("v.txt", VOCAB)
    with pytest.raises(DataError, match=r"^none\.txt: no such file$"):
        embedding_matrix("none.txt", VOCAB)


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"shared data not found at {SHARED}")
def test_real_glove_subset():
    vocab = ("<pad>", "<unk>", "the", "happy", "clichés", "notawordatall")
    matrix, coverage = embedding_matrix(SHARED / "glove" / "glove.6B.50d.subset.txt.gz", vocab)
    assert coverage.dim == 50 and coverage.vectors_read == 23446
    assert coverage.covered_types == 3
    assert matrix[2, 0] == np.float32(0.418)  # the first number of GloVe's "the"
