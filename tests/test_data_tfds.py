"""TFDS builders: prepare from a local manual_dir as array_record, read back without TensorFlow."""

import gzip
import importlib.util
import socket
import sys
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"

tfds = pytest.importorskip("tensorflow_datasets")
from jaxtune.data import tfds_builders  # noqa: E402
from jaxtune.data.examples import DataError  # noqa: E402
from jaxtune.data.files import read_examples  # noqa: E402


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the TFDS builders must not touch the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def write_emotion(directory: Path, train: str, val: str = "a;joy\n", test: str = "b;fear\n"):
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in (("train", train), ("val", val), ("test", test)):
        (directory / f"{name}.txt.gz").write_bytes(gzip.compress(text.encode(), mtime=0))
    return directory


def test_tensorflow_is_not_installed():
    assert importlib.util.find_spec("tensorflow") is None


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"shared data not found at {SHARED}")
def test_emotion_prepares_as_array_record_and_reads_back_in_file_order(tmp_path, no_network):
    builder = tfds_builders.prepare("emotion", SHARED / "emotion", tmp_path)
    assert "tensorflow" not in sys.modules
    assert builder.info.file_format.value == "array_record"
    assert sorted(p.name for p in Path(builder.data_dir).glob("*.array_record*")) == [
        f"jaxtune_emotion-{split}.array_record-00000-of-00001"
        for split in ("test", "train", "validation")
    ]
    assert {name: split.num_examples for name, split in builder.info.splits.items()} == {
        "train": 16000,
        "validation": 2000,
        "test": 2000,
    }
    assert builder.info.features["label"].names == [
        "sadness",
        "joy",
        "love",
        "anger",
        "fear",
        "surprise",
    ]
    texts, labels, lines = tfds_builders.read_split(builder, "validation")
    expected = read_examples(SHARED / "emotion" / "val.txt.gz")
    assert (texts, labels, lines) == (expected.texts, expected.labels, expected.lines)
    assert tfds_builders.skipped_lines(builder) == (0, ())

    # Prepared once, reused: the manual_dir is not even read again.
    stamps = {p: p.stat().st_mtime_ns for p in Path(builder.data_dir).iterdir()}
    again = tfds_builders.prepare("emotion", tmp_path / "no-such-dir", tmp_path)
    assert {p: p.stat().st_mtime_ns for p in Path(again.data_dir).iterdir()} == stamps
    # The registered name works with TFDS's own entry point too.
    source = tfds.data_source("jaxtune_emotion", split="test", data_dir=tmp_path, download=False)
    assert len(source) == 2000 and set(source[0]) == {"text", "label", "line"}
    assert "tensorflow" not in sys.modules


def test_a_bad_line_fails_with_its_file_and_line(tmp_path, no_network):
    manual = write_emotion(tmp_path / "emotion", "good;joy\nno separator\n")
    with pytest.raises(DataError) as caught:
        tfds_builders.prepare("emotion", manual, tmp_path / "tfds")
    assert str(caught.value) == (
        f"{manual / 'train.txt.gz'}:2: found no ';' in 'no separator'; expected text;label"
    )


def test_an_unknown_label_fails_against_the_builders_classes(tmp_path, no_network):
    manual = write_emotion(tmp_path / "emotion", "good;joy\n", val="fine;happy\n")
    with pytest.raises(DataError) as caught:
        tfds_builders.prepare("emotion", manual, tmp_path / "tfds")
    assert str(caught.value) == (
        f"{manual / 'val.txt.gz'}:1: found label 'happy', which is not among the classes of "
        "jaxtune_emotion; expected one of anger, fear, joy, love, sadness, surprise"
    )


def test_skipped_lines_are_recorded_in_the_prepared_dataset(tmp_path, no_network):
    manual = write_emotion(tmp_path / "emotion", "good;joy\nbroken\nsad;sadness\n")
    builder = tfds_builders.prepare("emotion", manual, tmp_path / "tfds", skip_bad_lines=True)
    texts, labels, lines = tfds_builders.read_split(builder, "train")
    assert (texts, labels, lines) == (["good", "sad"], ["joy", "sadness"], [1, 3])
    reopened = tfds_builders.prepare("emotion", manual, tmp_path / "tfds")
    count, reasons = tfds_builders.skipped_lines(reopened)
    assert count == 1 and reasons == (
        f"{manual / 'train.txt.gz'}:2: found no ';' in 'broken'; expected text;label",
    )
