"""The data section and load_dataset: presets, own files, carved splits, cached ids, reports."""

import gzip
from pathlib import Path

import numpy as np
import pytest

from jaxtune.data.dataset import OOV_ID, PAD_ID
from jaxtune.data.examples import DataError
from jaxtune.data.sources import load_dataset
from jaxtune.spec.data import DataSpec, preset
from jaxtune.spec.data_section import parse_data_section

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason=f"shared data not found at {SHARED}")


def reviews_csv(path: Path, rows: int = 60, extra: str = "") -> Path:
    """A CSV with a header, 3 unbalanced classes and a word ('zebra') only in the last rows."""
    lines = ["id,review,stars"]
    for i in range(rows):
        stars = ("good", "bad", "meh")[0 if i % 5 < 3 else (1 if i % 5 == 3 else 2)]
        words = {"good": "great fun film", "bad": "dull boring plot", "meh": "fine I guess"}
        tail = " zebra" if i >= rows - 2 else ""
        lines.append(f'{i},"{words[stars]}, take {i % 7}{tail}",{stars}')
    path.write_text("\n".join(lines) + "\n" + extra)
    return path


def test_own_csv_carves_val_and_test_and_builds_ids_from_train_only(tmp_path):
    reviews_csv(tmp_path / "r.csv")
    spec = parse_data_section(
        {"train": "r.csv", "text_column": "review", "label_column": "stars", "holdout": 0.2},
        "s.yaml",
    )
    dataset, report = load_dataset(spec, tmp_path / "sweep", tmp_path)
    assert report.name == dataset.name == "r"
    assert report.sizes == {"train": 36, "val": 12, "test": 12}
    assert dataset.label_names == ("bad", "good", "meh")  # sorted when not given
    assert report.label_counts["val"] == {"bad": 3, "good": 7, "meh": 2}  # 2.4, 7.2, 2.4
    for split in (dataset.train, dataset.val, dataset.test):
        assert split.tokens.shape[1] == report.max_length  # one width T for every split
        real = np.arange(split.max_length)[None] < split.lengths[:, None]
        assert np.all(split.tokens[~real] == PAD_ID) and np.all(split.tokens[real] != PAD_ID)
    in_train = "zebra" in dataset.vocab
    assert in_train == (report.oov_rate["train"] == 0.0)
    assert report.notes == (
        "splits: val and test carved from train (r.csv), 0.2 each, stratified, seed 0",
    )
    assert (tmp_path / "sweep" / "tokenizer.json").is_file()


def test_the_saved_tokenizer_keeps_ids_and_refuses_changed_data(tmp_path):
    reviews_csv(tmp_path / "r.csv")
    spec = DataSpec(
        source="files", train=str(tmp_path / "r.csv"), text_column="review", label_column="stars"
    )
    first, _ = load_dataset(spec, tmp_path / "sweep")
    again, report = load_dataset(spec, tmp_path / "sweep")
    assert again.vocab == first.vocab
    np.testing.assert_array_equal(again.train.tokens, first.train.tokens)
    assert report.tokenizer_path == str(tmp_path / "sweep" / "tokenizer.json")
    with pytest.raises(DataError) as caught:
        load_dataset(DataSpec(**{**spec.__dict__, "min_frequency": 2}), tmp_path / "sweep")
    assert str(caught.value) == (
        f"{tmp_path / 'sweep' / 'tokenizer.json'}: found a tokenizer built from other data or "
        "settings (min_frequency differ); expected the data section it was built with, "
        "or a new sweep directory"
    )


def test_single_file_split_by_fractions(tmp_path):
    lines = [f'{{"text": "word{i % 9} x", "label": {i % 2}}}' for i in range(100)]
    (tmp_path / "all.jsonl").write_text("\n".join(lines) + "\n")
    spec = parse_data_section({"file": "all.jsonl", "split": [0.6, 0.2, 0.2], "seed": 3}, "s")
    dataset, report = load_dataset(spec, None, tmp_path)
    assert report.sizes == {"train": 60, "val": 20, "test": 20}
    assert dataset.label_names == ("0", "1")
    assert report.tokenizer_path is None


def test_unknown_label_in_val_fails_or_is_counted(tmp_path):
    reviews_csv(tmp_path / "train.csv")
    (tmp_path / "val.csv").write_text("id,review,stars\n1,great,good\n2,awful,terrible\n")
    (tmp_path / "test.csv").write_text("id,review,stars\n1,boring,bad\n")
    section = {
        "train": "train.csv",
        "val": "val.csv",
        "test": "test.csv",
        "text_column": "review",
        "label_column": "stars",
    }
    with pytest.raises(DataError) as caught:
        load_dataset(parse_data_section(section, "s"), None, tmp_path)
    assert str(caught.value) == (
        f"{tmp_path / 'val.csv'}:3: found label 'terrible', which is not among the training "
        "labels; expected one of bad, good, meh"
    )
    spec = parse_data_section({**section, "skip_bad_lines": True}, "s")
    _, report = load_dataset(spec, None, tmp_path)
    assert report.sizes["val"] == 1 and report.skipped == {"train": 0, "val": 1, "test": 0}
    assert report.skip_reasons[0].startswith(f"{tmp_path / 'val.csv'}:3: found label")
    assert any(line.startswith("skipped: 1 bad lines") for line in report.lines())


def test_a_preset_without_a_data_dir_says_so():
    with pytest.raises(DataError) as caught:
        load_dataset(preset("emotion"))
    assert str(caught.value) == (
        "data emotion: found no data directory; expected --data-dir, JAXTUNE_DATA_DIR or "
        "data.data_dir naming the directory that holds emotion/"
    )


def test_pretrained_vectors_give_the_embedding_matrix(tmp_path):
    reviews_csv(tmp_path / "r.csv")
    (tmp_path / "g.txt").write_text("great 1 0\nfun 0 1\ndull 1 1\n")
    spec = DataSpec(
        source="files",
        train="r.csv",
        text_column="review",
        label_column="stars",
        pretrained="g.txt",
        data_dir=str(tmp_path),
    )
    dataset, report = load_dataset(spec)
    assert report.embedding.shape == (dataset.vocab_size, 2)
    np.testing.assert_array_equal(report.embedding[dataset.vocab.index("fun")], [0, 1])
    assert report.coverage.covered_types == 3
    assert report.embedding[OOV_ID].any() and not report.embedding[PAD_ID].any()


@needs_shared
def test_emotion_from_shared_data(tmp_path):
    spec = parse_data_section({"name": "emotion"}, "s.yaml")
    dataset, report = load_dataset(spec, tmp_path, SHARED)
    assert report.sizes == {"train": 16000, "val": 2000, "test": 2000}
    assert dataset.label_names == ("sadness", "joy", "love", "anger", "fear", "surprise")
    assert report.label_counts["train"] == {
        "sadness": 4666,
        "joy": 5362,
        "love": 1304,
        "anger": 2159,
        "fear": 1937,
        "surprise": 572,
    }
    np.testing.assert_array_equal(np.bincount(dataset.test.labels), [581, 695, 159, 275, 224, 66])
    assert dataset.decode(dataset.train.tokens[0], dataset.train.lengths[0]) == (
        "i didnt feel humiliated"
    )
    assert report.skipped_total == 0 and report.truncated["train"] == 0
    assert 3.0 < report.padding_waste_unbucketed < 3.6  # every tweet padded to the longest
    assert report.padding_waste < 1.3 and len(report.buckets) == 5
    assert report.buckets[-1] == report.max_length


def test_tfds_source_gives_the_same_dataset_as_the_files(tmp_path):
    pytest.importorskip("tensorflow_datasets")
    rng = np.random.default_rng(0)
    words = "i feel so happy sad angry scared loved surprised today".split()
    labels = ["sadness", "joy", "love", "anger", "fear", "surprise"]
    (tmp_path / "emotion").mkdir()
    for name, size in (("train", 120), ("val", 30), ("test", 30)):
        lines = [
            " ".join(rng.choice(words, rng.integers(2, 9))) + ";" + labels[i % 6]
            for i in range(size)
        ]
        text = "\n".join(lines) + "\n"
        (tmp_path / "emotion" / f"{name}.txt.gz").write_bytes(gzip.compress(text.encode()))
    files, _ = load_dataset(preset("emotion"), tmp_path / "a", tmp_path)
    tfds, report = load_dataset(
        preset("emotion", source="tfds", tfds_data_dir=str(tmp_path / "tfds")),
        tmp_path / "b",
        tmp_path,
    )
    assert report.source == "tfds" and tfds.vocab == files.vocab
    assert report.sizes == {"train": 120, "val": 30, "test": 30}
    for name in ("train", "val", "test"):
        for field in ("tokens", "lengths", "labels"):
            np.testing.assert_array_equal(
                getattr(getattr(tfds, name), field), getattr(getattr(files, name), field)
            )


@needs_shared
def test_sst2_carves_a_stratified_test_split_from_train(tmp_path):
    _, report = load_dataset(preset("sst2", max_length=32), None, SHARED)
    assert report.sizes == {"train": 60614, "val": 872, "test": 6735}
    assert report.label_counts["val"] == {"0": 428, "1": 444}
    counts = report.label_counts["test"]
    assert abs(counts["1"] / 6735 - 37569 / 67349) < 1e-3
    assert report.notes[-1].startswith("splits: test carved from train (train.tsv.gz), 0.1")
