"""The WordLevel tokenizer: special ids, deterministic vocabulary, save/load, encoding layout."""

import random

import numpy as np
import pytest

from jaxtune.data.dataset import OOV_ID, PAD_ID
from jaxtune.data.examples import DataError
from jaxtune.data.tokenize import (
    encode,
    encode_ids,
    load_tokenizer,
    save_tokenizer,
    train_tokenizer,
    vocabulary,
)

TEXTS = [
    "The movie was GOOD, really good!",
    "Don't watch it... the plot is bad",
    "good acting; bad plot",
    "Ünïcode café — ﬁne",  # the NFKC normalizer turns the ligature "ﬁ" into "fi"
]


def test_special_tokens_take_the_pad_and_oov_ids():
    vocab = vocabulary(train_tokenizer(TEXTS))
    assert vocab[PAD_ID] == "<pad>" and vocab[OOV_ID] == "<unk>"
    assert len(set(vocab)) == len(vocab)


def test_lowercases_and_splits_every_punctuation_character():
    tokenizer = train_tokenizer(TEXTS)
    assert tokenizer.encode("Don't STOP!!").tokens == ["don", "'", "t", "<unk>", "!", "!"]
    assert "fine" in vocabulary(tokenizer)
    cased = train_tokenizer(TEXTS, lowercase=False)
    assert "GOOD" in vocabulary(cased) and "The" in vocabulary(cased)


def test_vocabulary_orders_by_count_then_code_point_whatever_the_text_order():
    texts = ["b a c", "c b a", "d d e", "zz yy xx"] * 3 + ["e"]
    vocab = vocabulary(train_tokenizer(texts))
    # a, b, c and d occur 6 times, e 4, xx, yy and zz 3: ties go in code-point order.
    assert vocab[2:] == ("a", "b", "c", "d", "e", "xx", "yy", "zz")
    for seed in range(5):
        shuffled = texts[:]
        random.Random(seed).shuffle(shuffled)
        assert vocabulary(train_tokenizer(shuffled)) == vocab


def test_min_frequency_and_max_vocab_size():
    texts = ["a a a b b c"]
    assert vocabulary(train_tokenizer(texts, min_frequency=2)) == ("<pad>", "<unk>", "a", "b")
    assert vocabulary(train_tokenizer(texts, max_vocab_size=3)) == ("<pad>", "<unk>", "a")
    with pytest.raises(ValueError, match="at least 3"):
        train_tokenizer(texts, max_vocab_size=2)


def test_save_and_load_give_the_same_ids(tmp_path):
    tokenizer = train_tokenizer(TEXTS, replacements=[("<br />", " ")])
    save_tokenizer(tokenizer, tmp_path / "sweep" / "tokenizer.json")
    loaded = load_tokenizer(tmp_path / "sweep" / "tokenizer.json")
    probe = ["good<br />bad plot, UNSEEN words", "the café"]
    before = encode_ids(tokenizer, probe, 16)
    after = encode_ids(loaded, probe, 16)
    np.testing.assert_array_equal(before.tokens, after.tokens)
    assert vocabulary(loaded) == vocabulary(tokenizer)
    assert not list(tmp_path.glob("sweep/*.partial"))


def test_load_rejects_missing_or_foreign_files(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_tokenizer(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(DataError, match="bad.json: found an unreadable tokenizer"):
        load_tokenizer(tmp_path / "bad.json")
    from tokenizers import Tokenizer, models

    Tokenizer(models.WordLevel({"<unk>": 0, "<pad>": 1}, unk_token="<unk>")).save(
        str(tmp_path / "swapped.json")
    )
    with pytest.raises(DataError) as caught:
        load_tokenizer(tmp_path / "swapped.json")
    assert str(caught.value) == (
        f"{tmp_path / 'swapped.json'}: found ids 0, 1 = ('<unk>', '<pad>'); "
        "expected <pad> = 0, <unk> = 1"
    )


def test_encode_pads_truncates_and_keeps_lengths():
    tokenizer = train_tokenizer(["good bad plot"])
    vocab = vocabulary(tokenizer)
    ids = {token: i for i, token in enumerate(vocab)}
    split = encode(tokenizer, ["good plot", "bad bad bad bad bad bad", "unseen"], [2, 0, 1], 4)
    assert split.tokens.dtype == np.int32 and split.tokens.shape == (3, 4)
    np.testing.assert_array_equal(
        split.tokens,
        [
            [ids["good"], ids["plot"], PAD_ID, PAD_ID],
            [ids["bad"]] * 4,
            [OOV_ID, PAD_ID, PAD_ID, PAD_ID],
        ],
    )
    np.testing.assert_array_equal(split.lengths, [2, 4, 1])
    np.testing.assert_array_equal(split.labels, [2, 0, 1])
    short = encode_ids(tokenizer, ["good", "bad plot"], max_length=100)
    assert short.tokens.shape == (2, 2)  # T = longest, not max_length
    assert encode_ids(tokenizer, ["good"], 100, pad_to=7).tokens.shape == (1, 7)


def test_a_text_without_tokens_becomes_one_unk():
    tokenizer = train_tokenizer(["good"])
    encoded = encode_ids(tokenizer, ["", " \t ", "good", "zzz qqq"], 8)
    np.testing.assert_array_equal(encoded.lengths, [1, 1, 1, 2])
    np.testing.assert_array_equal(encoded.tokens[:2, 0], [OOV_ID, OOV_ID])
    np.testing.assert_array_equal(encoded.empty, [True, True, False, False])
    np.testing.assert_array_equal(encoded.tokens[3, :2], [OOV_ID, OOV_ID])  # all-OOV keeps length


def test_prefix_encoding_of_long_texts_equals_full_encoding():
    rng = random.Random(0)
    words = ["good", "bad", "plot", "<br />", "café", "ﬁne", "don't", "!!", "ΣΑΣ", "a-b"]
    texts = [
        " ".join(rng.choice(words) for _ in range(rng.randrange(0, 400)))
        + rng.choice(["", " ", "<br", "<br /", "x" * 50])
        for _ in range(300)
    ]
    texts += ["<br />" * 200, "x" * 5000, "word " * 300 + "<br />" * 10]
    tokenizer = train_tokenizer(texts[:50], replacements=[("<br />", " ")])
    for max_length in (1, 3, 17, 64):
        encoded = encode_ids(tokenizer, texts, max_length)
        full = [e.ids for e in tokenizer.encode_batch(texts, add_special_tokens=False)]
        for row, ids in enumerate(full):
            kept = ids[:max_length] or [OOV_ID]
            assert encoded.tokens[row, : len(kept)].tolist() == kept
            assert encoded.lengths[row] == len(kept)
            assert encoded.truncated[row] == (len(ids) > max_length)
