"""The `data:` section parser (jaxtune/spec/data_section.py): presets, files, one-line errors."""

import pytest

from jaxtune.data.synthetic import SyntheticConfig
from jaxtune.spec import SpecError
from jaxtune.spec.data import DataSpec
from jaxtune.spec.data_section import KEYS, KEYS_OF_SOURCE, parse_data_section


def test_no_section_is_the_synthetic_task():
    assert parse_data_section(None, "s.yaml") == DataSpec()
    spec = parse_data_section({"train_size": 10, "max_length": 12, "seed": 4}, "s.yaml")
    assert spec.source == "synthetic"
    assert spec.synthetic == SyntheticConfig(train_size=10, max_length=12, seed=4)


def test_presets_and_own_files_parse():
    emotion = parse_data_section({"name": "emotion"}, "s.yaml")
    assert (emotion.source, emotion.format, emotion.train) == (
        "files",
        "semicolon",
        "emotion/train.txt.gz",
    )
    assert emotion.labels[:2] == ("sadness", "joy")
    sst2 = parse_data_section({"name": "sst2", "source": "tfds", "max_length": 64}, "s.yaml")
    assert (sst2.source, sst2.text_column, sst2.max_length) == ("tfds", "sentence", 64)
    own = parse_data_section(
        {
            "train": "r.csv",
            "text_column": "review",
            "label_column": "stars",
            "buckets": [8, 16],
            "embedding": {"pretrained": "g.txt", "trainable": [True, False]},
        },
        "s.yaml",
    )
    assert (own.source, own.name, own.format, own.buckets) == ("files", None, None, (8, 16))
    assert (own.pretrained, own.embedding_trainable) == ("g.txt", (True, False))
    single = parse_data_section({"file": "all.jsonl", "split": [0.6, 0.2, 0.2]}, "s.yaml")
    assert single.split == (0.6, 0.2, 0.2)


@pytest.mark.parametrize(
    "section, message",
    [
        (
            {"name": "nope"},
            "data.name: expected one of synthetic, emotion, sst2, imdb, or "
            "data.train / data.file for your own files, found 'nope'",
        ),
        (
            {"name": "nope", "source": "tfds"},
            "data.name: expected one of emotion, sst2, imdb for source tfds, found 'nope'",
        ),
        ({"source": "hub"}, "data.source: expected one of synthetic, files, tfds, found 'hub'"),
        (
            {"name": "emotion", "train_size": 5},
            "data.train_size: not used by source files; it applies to source synthetic",
        ),
        (
            {"min_frequency": 2},
            "data.min_frequency: not used by source synthetic; it applies to source files or tfds",
        ),
        (
            {"file": "a.csv", "train": "b.csv"},
            "data.file: expected either data.file (split by fractions) or data.train, not both",
        ),
        (
            {"train": "a.csv", "split": [0.5, 0.5, 0.0]},
            "data.split: expected data.file: split fractions apply to one file",
        ),
        (
            {"file": "a.csv", "split": [0.8, 0.1]},
            "data.split: expected a list of 3 positive "
            "fractions (train, val, test) that sum to 1, found [0.8, 0.1]",
        ),
        (
            {"train": "a.dat"},
            "data.train: found 'a.dat', whose suffix names no format; expected "
            "a .txt, .csv, .tsv, .jsonl or .json file, or data.format",
        ),
        (
            {"train": "a.csv", "format": "xml"},
            "data.format: expected one of semicolon, csv, tsv, jsonl, found 'xml'",
        ),
        (
            {"train": "a.csv", "header": False, "text_column": "text"},
            "data.text_column: "
            "expected a 0-based column index since data.header is false, found 'text'",
        ),
        (
            {"name": "emotion", "max_length": 0},
            "data.max_length: expected an integer in [1, 100000], found 0",
        ),
        (
            {"name": "emotion", "buckets": [16, 8]},
            "data.buckets: expected a bucket count in "
            "[1, 64] or a list of increasing lengths in [1, 256], found [16, 8]",
        ),
        (
            {"name": "emotion", "labels": ["joy", "joy"]},
            "data.labels: expected a list of "
            "distinct labels as the files write them, found a repeat in ['joy', 'joy']",
        ),
        (
            {"name": "emotion", "embedding": {"pretrained": "g", "trainable": "yes"}},
            "data.embedding.trainable: expected true, false or a list of them, found 'yes'",
        ),
        (
            {"name": "emotion", "embedding": {"frozen": True}},
            "data.embedding.frozen: unknown key; allowed: pretrained, trainable",
        ),
        ({"min_length": 20, "max_length": 10}, "data.min_length: 20 is above data.max_length 10"),
        ({"label_noise": 1.5}, "data.label_noise: expected a number in [0, 1], found 1.5"),
    ],
)
def test_bad_sections_give_one_exact_line(section, message):
    with pytest.raises(SpecError) as caught:
        parse_data_section(section, "sweep.yaml")
    assert str(caught.value) == f"sweep.yaml: {message}"


def test_unknown_key_lists_the_allowed_ones():
    with pytest.raises(SpecError) as caught:
        parse_data_section({"rows": 5}, "sweep.yaml")
    assert str(caught.value).startswith("sweep.yaml: data.rows: unknown key; allowed: name, ")


@pytest.mark.parametrize("source", sorted(KEYS_OF_SOURCE))
def test_a_key_of_another_source_is_refused_naming_the_sources_that_take_it(source):
    foreign = next(key for key in KEYS if key not in KEYS_OF_SOURCE[source])
    section = {
        "source": source,
        "name": {"tfds": "sst2", "files": "emotion"}.get(source),
        foreign: 1,
    }
    section = {key: value for key, value in section.items() if value is not None}
    with pytest.raises(SpecError) as caught:
        parse_data_section(section, "s.yaml")
    message = str(caught.value)
    assert message.startswith(f"s.yaml: data.{foreign}: ")
    takers = [s for s in ("synthetic", "files", "tfds") if foreign in KEYS_OF_SOURCE[s]]
    assert " or ".join(takers) in message
