"""Own JSONL files for tasks tag and ctc, and the data section's task checks: one-line errors."""

import json

import numpy as np
import pytest

from jaxtune.data.examples import DataError
from jaxtune.data.files import read_examples
from jaxtune.data.sequences import BLANK
from jaxtune.data.sources import load_dataset
from jaxtune.data.synthetic import SyntheticConfig
from jaxtune.spec import SpecError
from jaxtune.spec.data import DataSpec
from jaxtune.spec.data_section import parse_data_section

TAGGED = [
    ("The cat sat", ["D", "N", "V"]),
    ("A dog ran .", ["D", "N", "V", "P"]),
    ("Dogs bark", ["N", "V"]),
]
TARGETS = [("one one uh two", "112"), ("three , two", ["3", 2]), ("one", [1])]


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path.name


def tag_files(tmp_path, val=None, test=None, key="tags"):
    records = [{"text": text, key: tags} for text, tags in TAGGED]
    return {
        "train": write_jsonl(tmp_path / "train.jsonl", records),
        "val": write_jsonl(tmp_path / "val.jsonl", val or records[:2]),
        "test": write_jsonl(tmp_path / "test.jsonl", test or records[2:]),
    }


def ctc_files(tmp_path, val=None, test=None):
    records = [{"text": text, "target": target} for text, target in TARGETS]
    return {
        "train": write_jsonl(tmp_path / "train.jsonl", records),
        "val": write_jsonl(tmp_path / "val.jsonl", val or records[:1]),
        "test": write_jsonl(tmp_path / "test.jsonl", test or records[1:]),
    }


def load(tmp_path, section, task):
    return load_dataset(parse_data_section(section, "s.yaml", task=task), None, tmp_path)


def test_tags_become_one_label_id_per_token(tmp_path):
    dataset, report = load(tmp_path, tag_files(tmp_path), "tag")
    assert dataset.task == "tag" and dataset.label_names == ("D", "N", "P", "V")
    train = dataset.train
    assert train.labels.shape == train.tokens.shape == (3, 4)
    assert train.lengths.tolist() == [3, 4, 2]
    names = [
        [dataset.label_names[i] for i in row[:n]]
        for row, n in zip(train.labels, train.lengths, strict=True)
    ]
    assert names == [tags for _, tags in TAGGED]
    assert train.labels[0, 3] == 0 and train.labels[2, 2:].tolist() == [0, 0]
    assert report.label_counts["train"] == {"D": 2, "N": 3, "P": 1, "V": 3}
    assert report.label_counts["test"] == {"D": 0, "N": 1, "P": 0, "V": 1}
    assert report.notes[-1] == "task tag: one of 4 labels per token (D, N, P, V)"


def test_tags_are_cut_with_their_tokens_at_data_max_length(tmp_path):
    dataset, report = load(tmp_path, {**tag_files(tmp_path), "max_length": 3}, "tag")
    assert dataset.train.tokens.shape == dataset.train.labels.shape == (3, 3)
    assert dataset.train.labels[1].tolist() == [0, 1, 3]  # D N V; the P is cut
    assert report.truncated["train"] == 1


def test_tags_under_another_key_and_integer_tags(tmp_path):
    records = [{"text": "a b", "ner": [0, 1]}, {"text": "b", "ner": ["1"]}]
    files = tag_files(tmp_path, key="ner", val=records, test=records)
    write_jsonl(tmp_path / "train.jsonl", records)
    dataset, _ = load(tmp_path, {**files, "label_column": "ner"}, "tag")
    assert dataset.label_names == ("0", "1")
    assert dataset.val.labels[:, :2].tolist() == [[0, 1], [1, 0]]


def test_ctc_targets_from_strings_and_lists(tmp_path):
    dataset, report = load(tmp_path, ctc_files(tmp_path), "ctc")
    assert dataset.task == "ctc" and dataset.label_names == (BLANK, "1", "2", "3")
    assert dataset.num_classes == 4
    train = dataset.train
    assert train.labels.shape == (3, 3) and train.label_lengths.tolist() == [3, 2, 1]
    assert train.labels.tolist() == [[1, 1, 2], [3, 2, 0], [1, 0, 0]]
    assert dataset.test.labels.shape[1] == 3  # S is shared by all splits, like T
    assert report.label_counts["train"] == {BLANK: 0, "1": 3, "2": 2, "3": 1}
    assert report.notes[-1].startswith("task ctc: targets of 1 to 3 labels")


def test_a_missing_split_is_carved_by_a_seeded_shuffle(tmp_path):
    records = [{"text": f"w{i} x", "target": str(i % 3 + 1)} for i in range(20)]
    write_jsonl(tmp_path / "all.jsonl", records)
    section = {"file": "all.jsonl", "split": [0.6, 0.2, 0.2]}
    _, report = load(tmp_path, section, "ctc")
    assert report.sizes == {"train": 12, "val": 4, "test": 4}
    assert report.notes[0].endswith("into train/val/test, shuffled, seed 0")


def one_line_error(tmp_path, section, task, error=DataError):
    with pytest.raises(error) as caught:
        load(tmp_path, section, task)
    message = str(caught.value)
    assert message.count("\n") == 0
    return message


@pytest.mark.parametrize(
    "record, found",
    [
        ({"text": "a b", "tags": "D N"}, "found tags \"D N\" under 'tags'; expected a list of "),
        ({"text": "a b", "tags": ["D", {"x": 1}]}, 'found tags ["D", {"x": 1}] under'),
        ({"text": "a b", "tags": ["D", True]}, "found tags [\"D\", true] under 'tags'"),
        ({"text": "a b", "tags": []}, "found an empty tags list under 'tags'; expected one label"),
        ({"text": "a b"}, "found keys 'text'; expected a tags key 'tags'"),
        (
            {"text": "A dog, sat", "tags": ["D", "N", "V"]},
            "found 3 tags for a text of 4 tokens; expected one tag per token",
        ),
        ({"text": "a b", "tags": ["D", "X"]}, "found label 'X', which is not among the training"),
    ],
)
def test_a_bad_tag_line_is_one_error_naming_file_and_line(tmp_path, record, found):
    val = [{"text": "The cat sat", "tags": ["D", "N", "V"]}, record]
    message = one_line_error(tmp_path, tag_files(tmp_path, val=val), "tag")
    assert message.startswith(f"{tmp_path / 'val.jsonl'}:2: {found}")


@pytest.mark.parametrize(
    "record, found",
    [
        ({"text": "a b", "target": " "}, "found an empty target under 'target'; expected at least"),
        ({"text": "a b", "target": []}, "found an empty target under 'target'"),
        ({"text": "a b", "target": 12}, "found target 12 under 'target'; expected a string or a"),
        ({"text": "a b", "target": ["1", BLANK]}, f"found label '{BLANK}' in the target"),
        (
            {"text": "one one", "target": "11"},
            "found a target of 2 labels with 1 repeat, which needs 3 steps, for a text of 2 "
            "tokens; expected labels + repeats <= tokens",
        ),
        ({"text": "a b", "target": "9"}, "found label '9', which is not among the training"),
    ],
)
def test_a_bad_ctc_line_is_one_error_naming_file_and_line(tmp_path, record, found):
    test = [{"text": "one", "target": "1"}, record]
    message = one_line_error(tmp_path, ctc_files(tmp_path, test=test), "ctc")
    assert message.startswith(f"{tmp_path / 'test.jsonl'}:2: {found}")


def test_a_ctc_target_cut_off_by_max_length_says_so(tmp_path):
    files = ctc_files(tmp_path)
    message = one_line_error(tmp_path, {**files, "max_length": 3}, "ctc")
    assert message == (
        f"{tmp_path / 'train.jsonl'}:1: found a target of 3 labels with 1 repeat, which "
        "needs 4 steps, for a text of 4 tokens, cut to 3 by data.max_length; expected "
        "labels + repeats <= tokens"
    )


def test_skip_bad_lines_skips_and_counts_sequence_problems(tmp_path):
    val = [
        {"text": "The cat sat", "tags": ["D", "N", "V"]},
        {"text": "a b", "tags": ["D"]},  # 1 tag, 2 tokens
        {"text": "a b", "tags": "D N"},  # not a list
        {"text": "a b", "tags": ["D", "Z"]},  # unseen in train
    ]
    section = {**tag_files(tmp_path, val=val), "skip_bad_lines": True}
    dataset, report = load(tmp_path, section, "tag")
    assert report.sizes["val"] == len(dataset.val) == 1
    assert report.skipped == {"train": 0, "val": 3, "test": 0}
    lines = sorted(reason.split(": ")[0] for reason in report.skip_reasons)
    assert lines == [f"{tmp_path / 'val.jsonl'}:{n}" for n in (2, 3, 4)]


def test_a_train_tag_outside_data_labels_fails(tmp_path):
    section = {**tag_files(tmp_path), "labels": ["D", "N", "V"]}
    message = one_line_error(tmp_path, section, "tag")
    assert message == (
        f"{tmp_path / 'train.jsonl'}:2: found label 'P', which is not among data.labels; "
        "expected one of D, N, V"
    )


def test_data_labels_give_the_ctc_ids_after_the_blank(tmp_path):
    dataset, _ = load(tmp_path, {**ctc_files(tmp_path), "labels": ["3", "2", "1"]}, "ctc")
    assert dataset.label_names == (BLANK, "3", "2", "1")
    assert dataset.train.labels[0].tolist() == [3, 3, 2]


def test_reading_another_format_for_a_sequence_task_is_one_error(tmp_path):
    (tmp_path / "t.csv").write_text("text,label\na,b\n")
    with pytest.raises(DataError) as caught:
        read_examples(tmp_path / "t.csv", task="ctc")
    assert str(caught.value) == (
        f"{tmp_path / 't.csv'}: found format csv; expected jsonl (data.format): "
        "task ctc reads JSONL"
    )


@pytest.mark.parametrize(
    "section, task, message",
    [
        (
            {"train": "a.csv"},
            "tag",
            "data.format: found csv (from 'a.csv'); expected jsonl: task tag reads JSONL",
        ),
        (
            {"train": "a.jsonl", "format": "tsv"},
            "ctc",
            "data.format: found tsv; expected jsonl: task ctc reads JSONL",
        ),
        (
            {"label_noise": 0.1},
            "ctc",
            "data.label_noise: not used by task ctc; it applies to task classify or tag",
        ),
        (
            {"name": "parity"},
            "ctc",
            "data.name: parity is the synthetic task for task tag; found task ctc",
        ),
        (
            {"name": "readout"},
            "classify",
            "data.name: readout is the synthetic task for task ctc; found task classify",
        ),
        (
            {"name": "emotion"},
            "tag",
            "data.name: emotion is a dataset for task classify; found task tag",
        ),
        (
            {"name": "sst2", "source": "tfds"},
            "ctc",
            "data.source: tfds datasets are for task classify; task ctc reads JSONL files",
        ),
        (
            {"min_length": 49, "max_length": 64},
            "ctc",
            "data.min_length: 49 is above 48, the "
            "longest readout input (targets of 3 to 10 digits)",
        ),
        (
            {"train": "a.jsonl", "labels": ["a", BLANK]},
            "ctc",
            f"data.labels: found {BLANK}, the CTC blank (id 0); expected the target labels only",
        ),
        (
            {"name": "nope"},
            "tag",
            "data.name: expected one of synthetic, parity, or data.train "
            "/ data.file for your own files, found 'nope'",
        ),
    ],
)
def test_a_section_that_does_not_fit_the_task_is_one_spec_error(section, task, message):
    with pytest.raises(SpecError) as caught:
        parse_data_section(section, "s.yaml", task=task)
    assert str(caught.value) == f"s.yaml: {message}"


def test_the_section_takes_each_task_and_its_synthetic_names():
    assert parse_data_section(None, "s.yaml", task="ctc") == DataSpec(task="ctc")
    spec = parse_data_section({"name": "parity", "train_size": 10}, "s.yaml", task="tag")
    assert (spec.source, spec.task, spec.name) == ("synthetic", "tag", "parity")
    assert spec.synthetic == SyntheticConfig(train_size=10, min_length=8, max_length=24)
    spec = parse_data_section({"name": "synthetic", "max_length": 40}, "s.yaml", task="ctc")
    assert spec.synthetic.max_length == 40 and spec.synthetic.min_length == 6
    own = parse_data_section({"train": "a.jsonl.gz"}, "s.yaml", task="tag")
    assert (own.source, own.task) == ("files", "tag")
    with pytest.raises(SpecError, match=r"^s.yaml: task: expected one of classify, tag, ctc"):
        parse_data_section(None, "s.yaml", task="seq")


def test_a_ctc_split_reports_no_blank_and_every_target_fits(tmp_path):
    dataset, _ = load(tmp_path, ctc_files(tmp_path), "ctc")
    for split in (dataset.train, dataset.val, dataset.test):
        within = np.arange(split.labels.shape[1])[None] < split.label_lengths[:, None]
        assert np.all(split.labels[within] > 0) and np.all(split.labels[~within] == 0)
