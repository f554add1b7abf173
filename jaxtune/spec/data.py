"""The `data:` section of a sweep spec: `DataSpec`, the named presets, and one-line errors.

```yaml
data: {name: emotion}                      # a preset: files under --data-dir/emotion/
data: {name: sst2, source: tfds}           # the same files through a TFDS builder
data: {train: reviews.csv, text_column: review, label_column: stars, max_length: 128}
data: {file: all.jsonl, split: [0.8, 0.1, 0.1], seed: 1}
```

Without a `data:` section the built-in synthetic task is used. A missing
validation or test split is carved from train by a seeded stratified split of
`holdout` (default 0.1) each: SST-2's dev set is its validation split and its
test split comes from train; IMDB's validation split comes from train.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jaxtune.data.files import FORMATS, DataError, infer_format
from jaxtune.data.synthetic import SyntheticConfig
from jaxtune.spec.errors import SpecError
from jaxtune.values import SpaceError, boolean, floating, integer, optional

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

SYNTHETIC_KEYS = ("train_size", "val_size", "test_size", "min_length", "label_noise")
TEXT_KEYS = (
    "labels",
    "holdout",
    "min_frequency",
    "max_vocab_size",
    "lowercase",
    "skip_bad_lines",
    "data_dir",
)
FILE_KEYS = (
    "train",
    "val",
    "test",
    "file",
    "split",
    "format",
    "text_column",
    "label_column",
    "header",
)
COMMON_KEYS = ("name", "source", "seed", "max_length", "buckets", "embedding")
KEYS = (*COMMON_KEYS, *SYNTHETIC_KEYS, *TEXT_KEYS, *FILE_KEYS, "tfds_data_dir")
KEYS_OF_SOURCE = {
    "synthetic": {*COMMON_KEYS, *SYNTHETIC_KEYS},
    "files": {*COMMON_KEYS, *TEXT_KEYS, *FILE_KEYS},
    "tfds": {*COMMON_KEYS, *TEXT_KEYS, "tfds_data_dir"},
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
    synthetic: SyntheticConfig = SyntheticConfig()


def dataset_name(spec: DataSpec) -> str:
    """The name to show: `spec.name`, else the training file's stem (`reviews.csv.gz`: reviews)."""
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


def parse_data_section(section: Any, path: str = "<spec>") -> DataSpec:
    """Validate the `data:` mapping of the spec file `path`; raises SpecError naming the key."""

    def error(key: str, message: str) -> SpecError:
        return SpecError(f"{path}: data.{key}: {message}" if key else f"{path}: data: {message}")

    def parse(check, key: str):
        try:
            return check(section[key])
        except SpaceError as problem:
            raise error(key, str(problem)) from None

    if section is None:
        return DataSpec()
    if not isinstance(section, Mapping):
        raise SpecError(f"{path}: data: expected a mapping, found {section!r}")
    section = dict(section)
    for key in section:
        if key not in KEYS:
            shown = (
                key if isinstance(key, str) and key.isprintable() and " " not in key else repr(key)
            )
            raise SpecError(f"{path}: data.{shown}: unknown key; allowed: {', '.join(KEYS)}")

    name = section.get("name")
    if name is not None and (not isinstance(name, str) or not name or "/" in name):
        raise error("name", f"expected a dataset name without '/', found {name!r}")
    has_files = "train" in section or "file" in section
    if "source" in section:
        source = section["source"]
        if source not in SOURCES:
            raise error("source", f"expected one of {', '.join(SOURCES)}, found {source!r}")
    elif name in (None, "synthetic") and not has_files:
        source = "synthetic"
    else:
        source = "files"
    if source == "synthetic" and name not in (None, "synthetic"):
        raise error("name", f"expected synthetic for source synthetic, found {name!r}")
    if source == "tfds" and name not in PRESETS:
        raise error("name", f"expected one of {', '.join(PRESETS)} for source tfds, found {name!r}")
    if source == "files" and name not in PRESETS and not has_files:
        raise error(
            "name",
            f"expected one of synthetic, {', '.join(PRESETS)}, or data.train / data.file "
            f"for your own files, found {name!r}",
        )
    for key in section:
        if key not in KEYS_OF_SOURCE[source]:
            raise error(
                key,
                f"not used by source {source}; it applies to source "
                f"{' or '.join(s for s in SOURCES if key in KEYS_OF_SOURCE[s])}",
            )

    values: dict[str, Any] = {"source": source}
    if name is not None:
        values["name"] = name
    if "seed" in section:
        values["seed"] = parse(integer(0, 2**31 - 1), "seed")
    if "max_length" in section:
        high = 10**7 if source == "synthetic" else 100_000
        values["max_length"] = parse(integer(1, high), "max_length")
    if source == "synthetic":
        values["synthetic"] = _synthetic(section, values, parse, error)
    else:
        values.update(_text_fields(section, source, name, parse, error))
    max_length = (
        values["synthetic"].max_length
        if source == "synthetic"
        else values.get("max_length", DEFAULT_MAX_LENGTH)
    )
    if "buckets" in section:
        values["buckets"] = _buckets(section["buckets"], max_length, error)
    if "embedding" in section:
        values.update(_embedding(section["embedding"], error))
    return with_preset(DataSpec(**values))


def _synthetic(section, values, parse, error) -> SyntheticConfig:
    config = {}
    for key in SYNTHETIC_KEYS:
        if key in section:
            check = floating(0.0, 1.0) if key == "label_noise" else integer(1, 10**7)
            config[key] = parse(check, key)
    if "max_length" in values:
        config["max_length"] = values.pop("max_length")
    if "seed" in values:
        config["seed"] = values["seed"]
    synthetic = SyntheticConfig(**config)
    if synthetic.min_length > synthetic.max_length:
        raise error(
            "min_length",
            f"{synthetic.min_length} is above data.max_length {synthetic.max_length}",
        )
    if synthetic.min_length < 3:
        raise error("min_length", f"expected at least 3, found {synthetic.min_length}")
    return synthetic


def _text_fields(section, source, name, parse, error) -> dict[str, Any]:
    values = {}
    for key in ("train", "val", "test", "file", "data_dir", "tfds_data_dir"):
        if key in section:
            value = section[key]
            if not isinstance(value, str) or not value.strip():
                raise error(key, f"expected a path, found {value!r}")
            values[key] = value
    if "file" in values and any(key in values for key in ("train", "val", "test")):
        raise error(
            "file", "expected either data.file (split by fractions) or data.train, not both"
        )
    if ("val" in values or "test" in values) and "train" not in values:
        key = "val" if "val" in values else "test"
        raise error(key, "expected data.train as well (val and test need a training file)")
    if "split" in section:
        if "file" not in values:
            raise error("split", "expected data.file: split fractions apply to one file")
        values["split"] = _fractions(section["split"], error)
    if "holdout" in section:
        values["holdout"] = parse(floating(0.0, 0.5, low_open=True), "holdout")
    if "format" in section:
        if section["format"] not in FORMATS:
            raise error(
                "format", f"expected one of {', '.join(FORMATS)}, found {section['format']!r}"
            )
        values["format"] = section["format"]
    elif source == "files" and name not in PRESETS:
        for key in ("train", "val", "test", "file"):
            if key in values:
                try:
                    infer_format(values[key])
                except DataError:
                    raise error(
                        key,
                        f"found {values[key]!r}, whose suffix names no format; "
                        f"expected a .txt, .csv, .tsv, .jsonl or .json file, or "
                        f"data.format",
                    ) from None
    if "header" in section:
        values["header"] = parse(boolean(), "header")
    for key in ("text_column", "label_column"):
        if key in section:
            value = section[key]
            if isinstance(value, bool) or not (
                (isinstance(value, str) and value) or (isinstance(value, int) and value >= 0)
            ):
                raise error(key, f"expected a column name or a 0-based index, found {value!r}")
            if values.get("header") is False and isinstance(value, str):
                raise error(
                    key,
                    f"expected a 0-based column index since data.header is false, found {value!r}",
                )
            values[key] = value
    if "labels" in section:
        values["labels"] = _labels(section["labels"], error)
    if "min_frequency" in section:
        values["min_frequency"] = parse(integer(1, 10**9), "min_frequency")
    if "max_vocab_size" in section:
        values["max_vocab_size"] = parse(optional(integer(3, 10**8)), "max_vocab_size")
    for key in ("lowercase", "skip_bad_lines"):
        if key in section:
            values[key] = parse(boolean(), key)
    return values


def _fractions(value, error) -> tuple[float, float, float]:
    what = "a list of 3 positive fractions (train, val, test) that sum to 1"
    if not isinstance(value, list | tuple) or len(value) != 3:
        raise error("split", f"expected {what}, found {value!r}")
    try:
        fractions = tuple(floating(0.0, 1.0, low_open=True)(v) for v in value)
    except SpaceError:
        raise error("split", f"expected {what}, found {value!r}") from None
    if abs(sum(fractions) - 1.0) > 1e-6:
        raise error("split", f"expected {what}, found {value!r} (sum {sum(fractions):g})")
    return fractions


def _labels(value, error) -> tuple[str, ...]:
    what = "a list of distinct labels as the files write them"
    if not isinstance(value, list | tuple) or len(value) < 2:
        raise error("labels", f"expected {what} (at least 2), found {value!r}")
    labels = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, str | int) or not str(item).strip():
            raise error("labels", f"expected {what}, found {item!r} in {value!r}")
        labels.append(str(item).strip())
    if len(set(labels)) != len(labels):
        raise error("labels", f"expected {what}, found a repeat in {value!r}")
    return tuple(labels)


def _buckets(value, max_length: int, error) -> int | tuple[int, ...]:
    what = f"a bucket count in [1, 64] or a list of increasing lengths in [1, {max_length}]"
    if isinstance(value, int) and not isinstance(value, bool):
        if not 1 <= value <= 64:
            raise error("buckets", f"expected {what}, found {value!r}")
        return value
    if not isinstance(value, list | tuple) or not value:
        raise error("buckets", f"expected {what}, found {value!r}")
    if any(
        isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= max_length for v in value
    ) or list(value) != sorted(set(value)):
        raise error("buckets", f"expected {what}, found {value!r}")
    return tuple(value)


def _embedding(value, error) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise error(
            "embedding", f"expected a mapping with pretrained and trainable, found {value!r}"
        )
    for key in value:
        if key not in ("pretrained", "trainable"):
            raise error(f"embedding.{key}", "unknown key; allowed: pretrained, trainable")
    values = {}
    if "pretrained" in value:
        path = value["pretrained"]
        if not isinstance(path, str) or not path.strip():
            raise error("embedding.pretrained", f"expected a path, found {path!r}")
        values["pretrained"] = path
    if "trainable" in value:
        flags = value["trainable"]
        items = flags if isinstance(flags, list) else [flags]
        if not items or not all(isinstance(flag, bool) for flag in items):
            raise error(
                "embedding.trainable", f"expected true, false or a list of them, found {flags!r}"
            )
        values["embedding_trainable"] = tuple(dict.fromkeys(items))
    return values


def resolve_path(path: str, data_dir: str | Path | None) -> Path:
    """`path` itself if absolute, else relative to `data_dir` (or the working directory)."""
    candidate = Path(path).expanduser()
    if candidate.is_absolute() or data_dir is None:
        return candidate
    return Path(data_dir).expanduser() / candidate
