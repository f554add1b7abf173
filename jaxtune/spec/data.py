"""The `data:` section of a sweep spec: `DataSpec`, the named presets, and one-line errors.

```yaml
data: {name: emotion}                      # a preset: files under --data-dir/emotion/
data: {name: sst2, source: tfds}           # the same files through a TFDS builder
data: {train: reviews.csv, text_column: review, label_column: stars, max_length: 128}
data: {file: all.jsonl, split: [0.8, 0.1, 0.1], seed: 1}
```

Without a `data:` section the built-in synthetic task of the spec's `task` is used
(classify: synthetic, tag: parity, ctc: readout). Tasks tag and ctc read JSONL files
(`{"text": ..., "tags": [...]}`, `{"text": ..., "target": ...}`). A missing
validation or test split is carved from train by a seeded stratified split (tag and
ctc: a seeded shuffle) of `holdout` (default 0.1) each: SST-2's dev set is its
validation split and its test split comes from train; IMDB's validation split comes
from train.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from jaxtune.data.sequences import check_task
from jaxtune.data.synthetic import SyntheticConfig
from jaxtune.data.synthetic_sequences import SYNTHETIC_DEFAULTS, SYNTHETIC_NAMES

SOURCES = ("synthetic", "files", "tfds")
DEFAULT_MAX_LENGTH = 256
DEFAULT_BUCKETS = 5  # about 1.27x padding on emotion, against 3.4x for max-length padding
# The synthetic task's sentences are short and near-uniform in length: one width, one
# compile, beats 5 compiles for 1.7x -> 1.1x padding on a dataset this small.
DEFAULT_BUCKETS_SYNTHETIC = 1

# Field values of each named dataset, as the files in `shared/data/<name>/` hold them.
PRESETS: dict[str, dict[str, Any]] = {
    "emotion": {
        "train": "emotion/train.txt.gz",
        "val": "emotion/val.txt.gz",
        "test": "emotion/test.txt.gz",
        "format": "semicolon",
        "labels": ("sadness", "joy", "love", "anger", "fear", "surprise"),  # HF ids 0-5
    },
    "sst2": {
        "train": "sst2/train.tsv.gz",
        "val": "sst2/dev.tsv.gz",  # GLUE's test split has no labels: test is carved from train
        "format": "tsv",
        "text_column": "sentence",
        "label_column": "label",
        "header": True,
        "labels": ("0", "1"),  # negative, positive
    },
    "imdb": {
        "train": "imdb/train.jsonl.gz",
        "test": "imdb/test.jsonl.gz",  # validation is carved from train
        "format": "jsonl",
        "labels": ("0", "1"),
        "replacements": (("<br />", " "),),  # the reviews' HTML line breaks
    },
}


@dataclasses.dataclass(frozen=True)
class DataSpec:
    """Where the examples come from and how they become token ids.

    Paths are relative to the data directory (`data_dir`, else `--data-dir` /
    JAXTUNE_DATA_DIR, else the working directory). `None` fields take the preset's
    value for a named dataset, else the reader's default.
    """

    source: str = "synthetic"
    name: str | None = None  # a preset (emotion, sst2, imdb), or any name for own files
    train: str | None = None
    val: str | None = None
    test: str | None = None
    file: str | None = None  # one file split by `split` fractions (train, val, test)
    split: tuple[float, float, float] = (0.8, 0.1, 0.1)
    holdout: float = 0.1  # fraction of train carved for each missing val/test split
    format: str | None = None
    text_column: str | int | None = None
    label_column: str | int | None = None
    header: bool | None = None
    labels: tuple[str, ...] | None = None  # id order; default: training labels sorted
    max_length: int = DEFAULT_MAX_LENGTH
    min_frequency: int = 1
    max_vocab_size: int | None = None
    lowercase: bool = True
    replacements: tuple[tuple[str, str], ...] | None = None
    buckets: int | tuple[int, ...] | None = None  # None: the source's default count
    pretrained: str | None = None  # GloVe-format vectors for the embedding
    embedding_trainable: tuple[bool, ...] = (True,)  # a dynamic hparam: a gradient mask
    skip_bad_lines: bool = False
    seed: int = 0  # splits carved from train, and random rows of the pretrained embedding
    data_dir: str | None = None
    tfds_data_dir: str | None = None  # prepared TFDS datasets (default: TFDS's own)
    synthetic: SyntheticConfig = None  # None: the defaults of the task's synthetic dataset
    task: str = "classify"  # classify, tag (a label per token) or ctc (a shorter target)

    def __post_init__(self):
        check_task(self.task)
        if self.synthetic is None:
            object.__setattr__(self, "synthetic", SYNTHETIC_DEFAULTS[self.task])


def dataset_name(spec: DataSpec) -> str:
    """The name to show: `spec.name`, else the training file's stem (`reviews.csv.gz`: reviews).

    The synthetic dataset of task tag or ctc is shown as its own name, parity or readout.
    """
    if spec.source == "synthetic" and spec.task != "classify":
        return SYNTHETIC_NAMES[spec.task]
    if spec.name:
        return spec.name
    if spec.source != "synthetic" and (spec.train or spec.file):
        stem = Path(spec.train or spec.file).name.removesuffix(".gz")
        return Path(stem).stem or stem
    return "synthetic"


def preset(name: str, source: str = "files", **changes) -> DataSpec:
    """The DataSpec of a named dataset (emotion, sst2, imdb), with `changes` applied."""
    if name not in PRESETS:
        raise ValueError(f"unknown dataset {name!r}; presets: {', '.join(PRESETS)}")
    return with_preset(DataSpec(source=source, name=name, **changes))


def with_preset(spec: DataSpec) -> DataSpec:
    """`spec` with the unset (None) fields of its named preset filled in."""
    preset = PRESETS.get(spec.name)
    if preset is None or spec.source == "synthetic":
        return spec
    changes = {}
    for key, value in preset.items():
        if key in ("train", "val", "test"):
            if spec.train is None and spec.file is None:
                changes[key] = value
        elif getattr(spec, key) is None:
            changes[key] = value
    return dataclasses.replace(spec, **changes)


def resolve_path(path: str, data_dir: str | Path | None) -> Path:
    """`path` itself if absolute, else relative to `data_dir` (or the working directory)."""
    candidate = Path(path).expanduser()
    if candidate.is_absolute() or data_dir is None:
        return candidate
    return Path(data_dir).expanduser() / candidate
