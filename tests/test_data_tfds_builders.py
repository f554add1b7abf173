"""data/tfds_builders.py: each builder's files, features and splits, from tiny manual_dirs.

test_data_tfds.py prepares the real emotion files and checks bad lines; this file checks
the SST-2 and IMDB builders, the uncompressed fallback and `prepare`'s refusals.
"""

import gzip
import json
import socket

import pytest

tfds = pytest.importorskip("tensorflow_datasets")
from jaxtune.data import tfds_builders  # noqa: E402
from jaxtune.data.tfds_builders import BUILDERS, prepare, read_split, skipped_lines  # noqa: E402


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the TFDS builders must not touch the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def write_gzip(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(text.encode(), mtime=0))


def test_prepare_refuses_an_unknown_name_listing_the_known_ones(tmp_path):
    with pytest.raises(ValueError) as caught:
        prepare("agnews", tmp_path, tmp_path)
    assert str(caught.value) == "unknown TFDS dataset 'agnews'; allowed: emotion, sst2, imdb"


def test_every_builder_names_its_class_labels_and_files():
    assert set(BUILDERS) == {"emotion", "sst2", "imdb"}
    for name, builder in BUILDERS.items():
        assert builder.name == f"jaxtune_{name}"
        assert len(builder.LABELS) == len(set(builder.LABELS)) >= 2
        assert builder.FILES and all(file.endswith(".gz") for file, _ in builder.FILES.values())


def test_sst2_reads_its_tsv_with_header_in_file_order(tmp_path):
    rows = [("a fine film", "1"), ("dull", "0"), ("great fun", "1")]
    write_gzip(
        tmp_path / "manual" / "train.tsv.gz",
        "sentence\tlabel\n" + "".join(f"{t}\t{label}\n" for t, label in rows),
    )
    write_gzip(tmp_path / "manual" / "dev.tsv.gz", "sentence\tlabel\nok\t0\n")
    builder = prepare("sst2", tmp_path / "manual", tmp_path / "tfds")
    assert set(builder.info.splits) == {"train", "validation"}
    assert builder.info.features["label"].names == ["0", "1"]
    texts, labels, lines = read_split(builder, "train")
    assert texts == [t for t, _ in rows]
    assert labels == [label for _, label in rows]
    assert lines == [2, 3, 4]  # line 1 is the header
    assert read_split(builder, "validation") == (["ok"], ["0"], [2])
    assert skipped_lines(builder) == (0, ())


def test_imdb_reads_json_lines_with_integer_labels(tmp_path):
    train = [{"text": "bad <br />movie", "label": 0}, {"text": "loved it", "label": 1}]
    write_gzip(tmp_path / "manual" / "train.jsonl.gz", "".join(json.dumps(r) + "\n" for r in train))
    write_gzip(tmp_path / "manual" / "test.jsonl.gz", json.dumps({"text": "meh", "label": 0}))
    builder = prepare("imdb", tmp_path / "manual", tmp_path / "tfds")
    assert set(builder.info.splits) == {"train", "test"}
    assert read_split(builder, "train") == (
        [r["text"] for r in train],
        [str(r["label"]) for r in train],
        [1, 2],
    )
    assert read_split(builder, "test") == (["meh"], ["0"], [1])


def test_an_uncompressed_copy_of_a_file_is_read_too(tmp_path):
    manual = tmp_path / "manual"
    manual.mkdir()
    (manual / "train.txt").write_text("so happy;joy\nso sad;sadness\n")
    write_gzip(manual / "val.txt.gz", "calm;love\n")
    (manual / "test.txt").write_text("boo;fear\n")
    builder = prepare("emotion", manual, tmp_path / "tfds")
    assert read_split(builder, "train") == (["so happy", "so sad"], ["joy", "sadness"], [1, 2])
    assert read_split(builder, "test") == (["boo"], ["fear"], [1])


def test_skipped_lines_of_a_builder_without_metadata_is_none():
    class Bare:
        class info:  # noqa: N801  (a stand-in for DatasetInfo)
            metadata = None

    assert tfds_builders.skipped_lines(Bare()) == (0, ())
