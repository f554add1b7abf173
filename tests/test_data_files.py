"""Reading labelled files: every format, gzip, exact one-line errors, skips, stratified splits."""

import gzip
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from jaxtune.data.examples import DataError
from jaxtune.data.files import infer_format, read_examples
from jaxtune.data.splits import label_order, split_counts, stratified_split

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def write(path: Path, text: str | bytes, compress: bool = False) -> Path:
    data = text.encode("utf-8") if isinstance(text, str) else text
    path.write_bytes(gzip.compress(data, mtime=0) if compress else data)
    return path


def error_of(path, **options) -> str:
    with pytest.raises(DataError) as caught:
        read_examples(path, **options)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_semicolon_splits_on_the_last_separator(tmp_path):
    path = write(tmp_path / "a.txt", "i feel good;joy\nsemi;colons; inside;sadness\r\n")
    examples = read_examples(path)
    assert examples.texts == ["i feel good", "semi;colons; inside"]
    assert examples.labels == ["joy", "sadness"]
    assert examples.lines == [1, 2]
    assert examples.skipped == 0


@pytest.mark.parametrize("name", ["a.txt.gz", "a.txt"])  # by suffix, and by magic bytes alone
def test_gzip_is_read_transparently(tmp_path, name):
    path = write(tmp_path / name, "x y;1\nz;2\n", compress=True)
    examples = read_examples(path)
    assert (examples.texts, examples.labels) == (["x y", "z"], ["1", "2"])


def test_format_from_suffix(tmp_path):
    assert infer_format("d/train.txt.gz") == "semicolon"
    assert infer_format("x.TSV") == "tsv"
    assert infer_format("x.json") == "jsonl"
    with pytest.raises(DataError) as caught:
        infer_format("data/x.dat")
    assert str(caught.value) == (
        "data/x.dat: found suffix '.dat'; expected one of .txt, .csv, .tsv, .jsonl, .json "
        "(optionally .gz) or an explicit format"
    )


def test_csv_with_header_quotes_and_a_multiline_field(tmp_path):
    text = 'id,review,stars\n1,"good, really",5\n2,"two\nlines ""quoted""",1\n3,plain,3\n'
    path = write(tmp_path / "r.csv", text)
    examples = read_examples(path, text_column="review", label_column="stars")
    assert examples.texts == ["good, really", 'two\nlines "quoted"', "plain"]
    assert examples.labels == ["5", "1", "3"]
    assert examples.lines == [2, 3, 5]  # the quoted field spans lines 3-4


def test_csv_without_header_uses_column_indices(tmp_path):
    path = write(tmp_path / "r.csv", "pos,great film\nneg,dull\n")
    examples = read_examples(path, header=False, text_column=1, label_column=0)
    assert examples.texts == ["great film", "dull"]
    assert examples.labels == ["pos", "neg"]
    assert examples.lines == [1, 2]


def test_tsv_reads_sst2_rows_unquoted_and_strips_the_trailing_space(tmp_path):
    rows = 'sentence\tlabel\nit \'s a "charming" journey \t1\n" quoted start \t0\n'
    path = write(tmp_path / "dev.tsv", rows)
    examples = read_examples(path, text_column="sentence")
    assert examples.texts == ['it \'s a "charming" journey', '" quoted start']
    assert examples.labels == ["1", "0"]


def test_a_byte_order_mark_is_not_part_of_the_header(tmp_path):
    path = write(tmp_path / "excel.csv", "\ufefftext,label\r\nfine,1\r\n")
    examples = read_examples(path)
    assert (examples.texts, examples.labels) == (["fine"], ["1"])


def test_jsonl_named_keys_and_integer_labels(tmp_path):
    lines = '{"file": "a", "label": 0, "text": "bad"}\n{"label": "1", "text": "good"}\n'
    examples = read_examples(write(tmp_path / "r.jsonl", lines))
    assert examples.texts == ["bad", "good"]
    assert examples.labels == ["0", "1"]


def test_blank_lines_are_counted_not_examples(tmp_path):
    examples = read_examples(write(tmp_path / "a.txt", "\na;x\n  \nb;y\n\n"))
    assert examples.texts == ["a", "b"]
    assert examples.lines == [2, 4]
    assert examples.blank_lines == 3


@pytest.mark.parametrize(
    "name, content, options, message",
    [
        (
            "a.txt",
            "ok;joy\nno separator here\n",
            {},
            "a.txt:2: found no ';' in 'no separator here'; expected text;label",
        ),
        (
            "a.txt",
            "ok;joy\n  ;sadness\n",
            {},
            "a.txt:2: found an empty text (label 'sadness'); expected a non-empty text",
        ),
        ("a.txt", "ok;\n", {}, "a.txt:1: found an empty label for text 'ok'; expected a label"),
        (
            "a.csv",
            "text,label\na,1\nb,2,3\n",
            {},
            "a.csv:3: found 3 columns; expected 2 as in the header (line 1)",
        ),
        (
            "a.csv",
            "sentence,label\na,1\n",
            {},
            "a.csv:1: found columns 'sentence', 'label'; expected a text column named 'text'",
        ),
        (
            "a.csv",
            "a,1\n",
            {"header": False, "text_column": 0, "label_column": 2},
            "a.csv:1: found 2 columns; expected at least 3 (text column 0, label column 2)",
        ),
        (
            "a.csv",
            'text,label\n"open quote,1\n',
            {},
            "a.csv:2: found a malformed CSV row (unexpected end of data); "
            "expected RFC 4180 quoting",
        ),
        (
            "a.tsv",
            "sentence\tlabel\nfine \t1\nmissing tab\n",
            {"text_column": "sentence"},
            "a.tsv:3: found 1 column; expected 2 as in the header (line 1)",
        ),
        (
            "a.jsonl",
            '{"text": "a", "label": 1}\n{"text": "b", label: 0}\n',
            {},
            "a.jsonl:2: found invalid JSON (Expecting property name enclosed in double quotes "
            "at column 15); expected one JSON object per line",
        ),
        (
            "a.jsonl",
            '["a", 1]\n',
            {},
            "a.jsonl:1: found a JSON array; expected one JSON object per line",
        ),
        (
            "a.jsonl",
            '{"review": "a", "label": 1}\n',
            {},
            "a.jsonl:1: found keys 'review', 'label'; expected a text key 'text'",
        ),
        (
            "a.jsonl",
            '{"text": "a", "label": 1.5}\n',
            {},
            "a.jsonl:1: found label 1.5 under 'label'; expected a string or an integer",
        ),
        (
            "a.jsonl",
            '{"text": null, "label": 1}\n',
            {},
            "a.jsonl:1: found text null under 'text'; expected a string",
        ),
    ],
)
def test_bad_lines_give_one_exact_message(tmp_path, monkeypatch, name, content, options, message):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / name, content)
    assert error_of(name, **options) == message


def test_bad_encoding_names_the_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "a.txt.gz", b"fine;joy\ncaf\xe9 latte;joy\n", compress=True)
    assert error_of("a.txt.gz") == (
        "a.txt.gz:2: found bytes that are not UTF-8 (b'\\xe9 la' at byte 4); expected UTF-8 text"
    )


def test_missing_file_and_truncated_gzip(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert error_of("nowhere.txt") == "nowhere.txt: no such file"
    whole = gzip.compress(b"".join(b"line %d;x\n" % i for i in range(5000)), mtime=0)
    write(tmp_path / "cut.txt.gz", whole[: len(whole) // 2])
    message = error_of("cut.txt.gz")
    assert message.startswith("cut.txt.gz:")
    assert message.endswith("; expected a complete gzip file")


def test_skip_bad_lines_counts_everything_it_drops(tmp_path):
    content = b"a;x\nno separator\n;x\nb;y\n\xff\xfe;x\nc;\n\nd;z\n"
    path = write(tmp_path / "a.txt", content)
    examples = read_examples(path, skip_bad_lines=True)
    assert examples.texts == ["a", "b", "d"]
    assert examples.lines == [1, 4, 8]
    assert examples.skipped == 4
    assert examples.blank_lines == 1
    assert len(examples) + examples.skipped + examples.blank_lines == content.count(b"\n")
    assert [reason.split(": ")[0] for reason in examples.skip_reasons] == [
        f"{path}:2",
        f"{path}:3",
        f"{path}:5",
        f"{path}:6",
    ]


def test_skipped_reasons_are_capped_but_the_count_is_not(tmp_path):
    path = write(tmp_path / "a.txt", "bad\n" * 20 + "good;x\n")
    examples = read_examples(path, skip_bad_lines=True)
    assert examples.skipped == 20
    assert len(examples.skip_reasons) == 5


def test_label_order_is_numeric_for_numbers():
    assert label_order(["10", "2", "1", "2"]) == ("1", "2", "10")
    assert label_order(["joy", "anger", "3"]) == ("3", "anger", "joy")


def test_stratified_split_is_a_seeded_partition_that_keeps_proportions():
    labels = ["a"] * 600 + ["b"] * 300 + ["c"] * 100
    parts = stratified_split(labels, [0.8, 0.1, 0.1], seed=3)
    joined = np.concatenate(parts)
    assert sorted(joined.tolist()) == list(range(1000))  # every example exactly once
    assert [len(p) for p in parts] == [800, 100, 100]
    for part, size in zip(parts, (800, 100, 100), strict=True):
        counts = Counter(labels[i] for i in part)
        assert counts == {"a": size * 6 // 10, "b": size * 3 // 10, "c": size // 10}
    again = stratified_split(labels, [0.8, 0.1, 0.1], seed=3)
    assert all(np.array_equal(x, y) for x, y in zip(parts, again, strict=True))
    other = stratified_split(labels, [0.8, 0.1, 0.1], seed=4)
    assert not np.array_equal(parts[1], other[1])
    with pytest.raises(ValueError, match="sum to 1"):
        stratified_split(labels, [0.8, 0.3], seed=0)


def test_split_counts_match_class_sizes_and_rounded_part_sizes():
    rng = np.random.default_rng(0)
    for _ in range(300):
        sizes = rng.integers(0, 40, rng.integers(1, 7))
        if not sizes.sum():
            continue
        fractions = rng.dirichlet(np.ones(rng.integers(2, 5)))
        counts = split_counts(sizes, fractions)
        np.testing.assert_array_equal(counts.sum(axis=1), sizes)
        assert np.all(np.abs(counts.sum(axis=0) - sizes.sum() * fractions) < 1)
        assert np.all(counts >= 0) and np.all(np.abs(counts - np.outer(sizes, fractions)) < 2)


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"shared data not found at {SHARED}")
def test_real_sst2_dev_and_emotion_val():
    dev = read_examples(SHARED / "sst2" / "dev.tsv.gz", text_column="sentence")
    assert len(dev) == 872 and Counter(dev.labels) == {"0": 428, "1": 444}
    assert dev.lines[0] == 2  # after the header
    assert all(text == text.strip() for text in dev.texts)
    assert sum(not text.isascii() for text in dev.texts) == 6  # README: 6 dev rows
    val = read_examples(SHARED / "emotion" / "val.txt.gz")
    assert len(val) == 2000
    assert Counter(val.labels)["surprise"] == 81
