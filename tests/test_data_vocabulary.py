"""data/vocabulary.py: the sweep directory's cached tokenizer and encoded splits."""

import dataclasses
import hashlib
import json
from types import SimpleNamespace

import numpy as np
import pytest

from jaxtune.data import tokenize, vocabulary
from jaxtune.data.examples import DataError
from jaxtune.data.vocabulary import SPLITS, cached_encoding, cached_tokenizer, digest
from jaxtune.layout import ENCODED_FILE, TOKENIZER_FILE, TOKENIZER_SETTINGS_FILE
from jaxtune.spec.data import DataSpec

TEXTS = ["a good plot", "a bad plot", "good good fun"]
SPEC = DataSpec(source="files")
SETTINGS_KEYS = (
    "lowercase",
    "max_vocab_size",
    "min_frequency",
    "replacements",
    "train_examples",
    "train_sha256",
)


def examples(train=TEXTS, val=("good fun",), test=("bad",)):
    return {
        split: SimpleNamespace(texts=list(texts))
        for split, texts in zip(SPLITS, (train, val, test), strict=True)
    }


def refuse(*args, **kwargs):
    raise AssertionError("rebuilt although the cache matched")


def test_digest_is_the_sha256_of_the_texts_joined_by_nul():
    assert digest(["ab", "c"]) == hashlib.sha256(b"ab\0c").hexdigest()
    assert digest(["ab", "c"]) != digest(["a", "bc"])  # the separator keeps texts apart
    assert digest(["x", "y"]) != digest(["y", "x"])


def test_without_a_cache_dir_nothing_is_saved(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    tokenizer, path = cached_tokenizer(SPEC, TEXTS, None)
    assert path is None
    assert "plot" in tokenize.vocabulary(tokenizer)
    assert list(tmp_path.iterdir()) == []


def test_the_saved_tokenizer_is_loaded_not_trained_again(tmp_path, monkeypatch):
    first, path = cached_tokenizer(SPEC, TEXTS, tmp_path)
    assert path == tmp_path / TOKENIZER_FILE
    settings = json.loads((tmp_path / TOKENIZER_SETTINGS_FILE).read_text())
    assert settings["train_examples"] == len(TEXTS)
    assert settings["train_sha256"] == digest(TEXTS)
    assert sorted(settings) == sorted(SETTINGS_KEYS)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [TOKENIZER_FILE, TOKENIZER_SETTINGS_FILE]
    )  # no .partial file left behind
    monkeypatch.setattr(vocabulary, "train_for", refuse)
    again, again_path = cached_tokenizer(SPEC, TEXTS, tmp_path)
    assert again_path == path
    assert tokenize.vocabulary(again) == tokenize.vocabulary(first)


@pytest.mark.parametrize(
    "texts, spec, changed",
    [
        (["a good plot", "a bad plot", "good good fun!"], SPEC, ["train_sha256"]),
        (TEXTS[:2], SPEC, ["train_examples", "train_sha256"]),
        (TEXTS, dataclasses.replace(SPEC, lowercase=False), ["lowercase"]),
        (
            TEXTS,
            dataclasses.replace(SPEC, replacements=(("<br />", " "),), max_vocab_size=50),
            ["max_vocab_size", "replacements"],
        ),
    ],
)
def test_other_texts_or_settings_are_refused_naming_what_changed(tmp_path, texts, spec, changed):
    cached_tokenizer(SPEC, TEXTS, tmp_path)
    saved = (tmp_path / TOKENIZER_FILE).read_bytes()
    with pytest.raises(DataError) as caught:
        cached_tokenizer(spec, texts, tmp_path)
    assert str(caught.value) == (
        f"{tmp_path / TOKENIZER_FILE}: found a tokenizer built from other data or settings "
        f"({', '.join(changed)} differ); expected the data section it was built with, "
        "or a new sweep directory"
    )
    assert (tmp_path / TOKENIZER_FILE).read_bytes() == saved  # the sweep's ids are kept


def test_a_tokenizer_without_its_settings_is_refused(tmp_path):
    cached_tokenizer(SPEC, TEXTS, tmp_path)
    (tmp_path / TOKENIZER_SETTINGS_FILE).unlink()
    with pytest.raises(DataError, match=rf"\({', '.join(SETTINGS_KEYS)} differ\)"):
        cached_tokenizer(SPEC, TEXTS, tmp_path)


def assert_encoded_equal(got, expected):
    assert list(got) == list(SPLITS)
    for split in SPLITS:
        for field in tokenize.Encoded._fields:
            np.testing.assert_array_equal(
                getattr(got[split], field), getattr(expected[split], field)
            )


def test_encoding_without_a_cache_dir_is_each_split_encoded():
    tokenizer, _ = cached_tokenizer(SPEC, TEXTS, None)
    data = examples()
    got = cached_encoding(tokenizer, data, 4, None)
    expected = {s: tokenize.encode_ids(tokenizer, data[s].texts, 4) for s in SPLITS}
    assert_encoded_equal(got, expected)


def test_the_encoding_is_read_back_from_the_cache(tmp_path, monkeypatch):
    tokenizer, _ = cached_tokenizer(SPEC, TEXTS, tmp_path)
    first = cached_encoding(tokenizer, examples(), 4, tmp_path)
    assert (tmp_path / ENCODED_FILE).is_file()
    assert not (tmp_path / (ENCODED_FILE + ".partial")).exists()
    monkeypatch.setattr(tokenize, "encode_ids", refuse)
    assert_encoded_equal(cached_encoding(tokenizer, examples(), 4, tmp_path), first)


@pytest.mark.parametrize(
    "max_length, data",
    [(2, examples()), (4, examples(val=("fun fun",))), (4, examples(test=("bad", "good")))],
)
def test_another_width_or_text_is_encoded_again(tmp_path, max_length, data):
    tokenizer, _ = cached_tokenizer(SPEC, TEXTS, None)
    cached_encoding(tokenizer, examples(), 4, tmp_path)
    got = cached_encoding(tokenizer, data, max_length, tmp_path)
    expected = {s: tokenize.encode_ids(tokenizer, data[s].texts, max_length) for s in SPLITS}
    assert_encoded_equal(got, expected)
