"""Parsing the `data:` section of a spec file into a `DataSpec`, each error one line.

The keys allowed depend on the source: the synthetic task takes its sizes, files take
paths, columns and formats, TFDS takes the prepared-data directory; every source takes
`name`, `seed`, `max_length`, `buckets` and `embedding`. The spec's `task` decides
the synthetic dataset (classify: synthetic, tag: parity, ctc: readout) and that tasks
tag and ctc read JSONL files.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from jaxtune.data.examples import DataError
from jaxtune.data.files import FORMATS, infer_format
from jaxtune.data.sequences import BLANK, TASKS
from jaxtune.data.synthetic import SyntheticConfig
from jaxtune.data.synthetic_sequences import SYNTHETIC_DEFAULTS, SYNTHETIC_NAMES, readout_problem
from jaxtune.spec.data import DEFAULT_MAX_LENGTH, PRESETS, SOURCES, DataSpec, with_preset
from jaxtune.spec.data_tasks import check_jsonl, check_task_name
from jaxtune.spec.errors import SpecError
from jaxtune.values import SpaceError, boolean, floating, integer, optional

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


def parse_data_section(section: Any, path: str = "<spec>", task: str = "classify") -> DataSpec:
    """Validate the `data:` mapping of the spec file `path` for `task` (classify, tag, ctc).

    Raises SpecError naming the key.
    """

    def error(key: str, message: str) -> SpecError:
        return SpecError(f"{path}: data.{key}: {message}" if key else f"{path}: data: {message}")

    def parse(check, key: str):
        try:
            return check(section[key])
        except SpaceError as problem:
            raise error(key, str(problem)) from None

    if task not in TASKS:
        raise SpecError(f"{path}: task: expected one of {', '.join(TASKS)}, found {task!r}")
    if section is None:
        return DataSpec(task=task)
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
    elif name in (None, *SYNTHETIC_NAMES.values()) and not has_files:
        source = "synthetic"
    else:
        source = "files"
    check_task_name(name, source, task, error)
    if source == "tfds" and name not in PRESETS:
        raise error("name", f"expected one of {', '.join(PRESETS)} for source tfds, found {name!r}")
    if source == "files" and name not in PRESETS and not has_files:
        named = ", ".join(PRESETS) if task == "classify" else SYNTHETIC_NAMES[task]
        raise error(
            "name",
            f"expected one of synthetic, {named}, or data.train / data.file "
            f"for your own files, found {name!r}",
        )
    for key in section:
        if key not in KEYS_OF_SOURCE[source]:
            raise error(
                key,
                f"not used by source {source}; it applies to source "
                f"{' or '.join(s for s in SOURCES if key in KEYS_OF_SOURCE[s])}",
            )
    if task == "ctc" and "label_noise" in section:
        raise error("label_noise", "not used by task ctc; it applies to task classify or tag")

    values: dict[str, Any] = {"source": source, "task": task}
    if name is not None:
        values["name"] = name
    if "seed" in section:
        values["seed"] = parse(integer(0, 2**31 - 1), "seed")
    if "max_length" in section:
        high = 10**7 if source == "synthetic" else 100_000
        values["max_length"] = parse(integer(1, high), "max_length")
    if source == "synthetic":
        values["synthetic"] = _synthetic(section, values, parse, error, task)
    else:
        values.update(_text_fields(section, source, name, parse, error, task))
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


def _synthetic(section, values, parse, error, task: str) -> SyntheticConfig:
    config = {}
    for key in SYNTHETIC_KEYS:
        if key in section:
            check = floating(0.0, 1.0) if key == "label_noise" else integer(1, 10**7)
            config[key] = parse(check, key)
    if "max_length" in values:
        config["max_length"] = values.pop("max_length")
    if "seed" in values:
        config["seed"] = values["seed"]
    synthetic = dataclasses.replace(SYNTHETIC_DEFAULTS[task], **config)
    if synthetic.min_length > synthetic.max_length:
        raise error(
            "min_length",
            f"{synthetic.min_length} is above data.max_length {synthetic.max_length}",
        )
    if synthetic.min_length < 3:
        raise error("min_length", f"expected at least 3, found {synthetic.min_length}")
    problem = readout_problem(synthetic) if task == "ctc" else None
    if problem:
        raise error(*problem)
    return synthetic


def _text_fields(section, source, name, parse, error, task: str) -> dict[str, Any]:
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
    if task != "classify":
        check_jsonl(values, task, error)
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
        if task == "ctc" and BLANK in values["labels"]:
            raise error(
                "labels", f"found {BLANK}, the CTC blank (id 0); expected the target labels only"
            )
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
