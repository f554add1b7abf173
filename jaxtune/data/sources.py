"""Load the dataset a `DataSpec` describes: read, split, tokenize, bucket, and report.

`load_dataset(spec, cache_dir, data_dir)` returns the `TextDataset` (int32 tokens,
lengths and labels per split, all padded to one width T) and a `DataReport`
(counts, skipped lines, vocabulary, padding waste, GloVe coverage and the
pretrained matrix). With a `cache_dir` (the sweep directory) the tokenizer is
saved there as `tokenizer.json` on first use and loaded afterwards, so `final`
and `resume` see the same ids; a changed data section or training file is an
error rather than a silent change of ids.

The spec's task decides the labels: one per example (classify), one per token (tag,
JSONL `tags`) or a target sequence (ctc, JSONL `target`); the synthetic source gives
each task its own dataset (synthetic, parity, readout).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from jaxtune.data import bucketing, glove, tokenize
from jaxtune.data.dataset import OOV_ID, Split, TextDataset
from jaxtune.data.examples import DataError, Examples, check_labels
from jaxtune.data.files import read_examples
from jaxtune.data.report import DataReport
from jaxtune.data.sequence_files import check_fit, check_sequence_labels, label_arrays
from jaxtune.data.sequences import label_counts, task_note
from jaxtune.data.splits import label_order, stratified_split
from jaxtune.data.synthetic import make_synthetic
from jaxtune.data.synthetic_sequences import make_parity, make_readout
from jaxtune.data.vocabulary import cached_encoding, cached_tokenizer
from jaxtune.spec.data import (
    DEFAULT_BUCKETS,
    DEFAULT_BUCKETS_SYNTHETIC,
    PRESETS,
    DataSpec,
    dataset_name,
    preset,
    resolve_path,
    with_preset,
)
from jaxtune.spec.data_section import parse_data_section

SPLITS = ("train", "val", "test")
TFDS_SPLITS = {"train": "train", "val": "validation", "test": "test"}
SYNTHETIC_MAKERS = {"classify": make_synthetic, "tag": make_parity, "ctc": make_readout}

__all__ = ["DataReport", "DataSpec", "load_dataset", "parse_data_section", "preset"]


def load_dataset(
    spec: DataSpec, cache_dir: str | Path | None = None, data_dir: str | Path | None = None
) -> tuple[TextDataset, DataReport]:
    """Read, split, tokenize and bucket the data of `spec`.

    Args:
      cache_dir: where `tokenizer.json` (and the encoded splits, `encoded.npz`) are kept:
        the sweep directory. None: nothing is kept.
      data_dir: the data directory (`--data-dir` / JAXTUNE_DATA_DIR); `spec.data_dir`
        wins when set. Relative paths in `spec` are taken from it.
    """
    spec = with_preset(spec)
    data_dir = spec.data_dir or data_dir
    if spec.source == "synthetic":
        return _synthetic(spec, data_dir)
    if spec.source == "tfds":
        if spec.task != "classify":
            raise ValueError(
                f"data.source: tfds datasets are for task classify; task {spec.task} reads JSONL"
            )
        examples, notes = _read_tfds(spec, data_dir)
    else:
        examples, notes = _read_files(spec, data_dir)
    examples, carve_notes = _carve(spec, examples)
    notes += carve_notes
    if spec.task == "classify":
        labels = spec.labels or label_order(examples["train"].labels)
        skip = spec.skip_bad_lines
        examples["train"] = check_labels(
            examples["train"], labels, skip_bad_lines=skip, known_from="data.labels"
        )
        trained = set(examples["train"].labels)
        for split in ("val", "test"):
            examples[split] = check_labels(examples[split], trained, skip_bad_lines=skip)
    else:
        examples, labels = check_sequence_labels(spec, examples)
        examples = check_fit(spec, examples)
    for split in SPLITS:
        if not len(examples[split]):
            raise DataError(
                f"{examples[split].path}: found no examples for the {split} split; "
                "expected at least one"
            )

    tokenizer, tokenizer_path = cached_tokenizer(spec, examples["train"].texts, cache_dir)
    vocab = tokenize.vocabulary(tokenizer)
    encoded = cached_encoding(tokenizer, examples, spec.max_length, cache_dir)
    width = max(e.tokens.shape[1] for e in encoded.values())  # T, shared by all splits
    splits = {}
    for split, e in encoded.items():
        tokens = np.pad(e.tokens, ((0, 0), (0, width - e.tokens.shape[1])))  # [N, T]
        splits[split] = _labelled(spec.task, tokens, e.lengths, examples, split, labels, width)
    dataset = TextDataset(
        name=dataset_name(spec), vocab=vocab, label_names=tuple(labels), task=spec.task, **splits
    )

    buckets = _buckets(spec, splits["train"].lengths, width)
    train_lengths = splits["train"].lengths
    coverage = embedding = None
    if spec.pretrained:
        real = np.arange(width)[None, :] < train_lengths[:, None]  # [N, T]
        counts = np.bincount(splits["train"].tokens[real], minlength=len(vocab))  # [V]
        embedding, coverage = glove.embedding_matrix(
            resolve_path(spec.pretrained, data_dir), vocab, seed=spec.seed, token_counts=counts
        )
    report = DataReport(
        name=dataset_name(spec),
        source=spec.source,
        sizes={split: len(splits[split]) for split in SPLITS},
        label_names=tuple(labels),
        label_counts={
            split: label_counts(splits[split], tuple(labels), spec.task) for split in SPLITS
        },
        vocab_size=len(vocab),
        max_length=width,
        mean_length={split: float(splits[split].lengths.mean()) for split in SPLITS},
        truncated={split: int(encoded[split].truncated.sum()) for split in SPLITS},
        oov_rate={split: _oov_rate(splits[split]) for split in SPLITS},
        empty_texts={split: int(encoded[split].empty.sum()) for split in SPLITS},
        skipped={split: examples[split].skipped for split in SPLITS},
        skip_reasons=tuple(r for split in SPLITS for r in examples[split].skip_reasons),
        blank_lines=sum(examples[split].blank_lines for split in SPLITS),
        notes=(*notes, *task_note(spec.task, splits["train"], tuple(labels))),
        buckets=buckets,
        padding_waste=bucketing.padding_waste(train_lengths, buckets),
        padding_waste_unbucketed=bucketing.padding_waste(train_lengths, width),
        tokenizer_path=str(tokenizer_path) if tokenizer_path else None,
        coverage=coverage,
        embedding=embedding,
    )
    return dataset, report


def _labelled(task: str, tokens, lengths, examples, split: str, labels, width: int) -> Split:
    """The Split of `tokens` ([N, T] int32) and `lengths` with `examples[split]`'s label ids."""
    written = examples[split].labels
    if task == "classify":
        label_id = {label: i for i, label in enumerate(labels)}
        label_ids = np.array([label_id[label] for label in written], np.int32)  # [N]
        return Split(tokens=tokens, lengths=lengths, labels=label_ids)
    if task == "tag":
        label_ids, kept = label_arrays(written, tuple(labels), width)  # [N, T], [N]
        assert np.array_equal(kept, lengths), "a tag count check disagrees with the tokenizer"
        return Split(tokens=tokens, lengths=lengths, labels=label_ids)
    targets = max(len(target) for part in examples.values() for target in part.labels)  # S
    label_ids, label_lengths = label_arrays(written, tuple(labels), targets)  # [N, S], [N]
    return Split(tokens=tokens, lengths=lengths, labels=label_ids, label_lengths=label_lengths)


def _read_files(spec: DataSpec, data_dir) -> tuple[dict[str, Examples | None], list[str]]:
    options = dict(
        format=spec.format,
        text_column=spec.text_column,
        label_column=spec.label_column,
        header=spec.header,
        skip_bad_lines=spec.skip_bad_lines,
        task=spec.task,
    )
    if spec.file:
        return {"file": read_examples(resolve_path(spec.file, data_dir), **options)}, []
    if data_dir is None and spec.name in PRESETS and spec.train == PRESETS[spec.name]["train"]:
        raise _no_data_dir(spec.name)
    if spec.train is None:
        raise ValueError(f"data {dataset_name(spec)!r}: set train or file (or a preset name)")
    examples = {}
    for split in SPLITS:
        path = getattr(spec, split)
        examples[split] = read_examples(resolve_path(path, data_dir), **options) if path else None
    return examples, []


def _read_tfds(spec: DataSpec, data_dir) -> tuple[dict[str, Examples | None], list[str]]:
    from jaxtune.data import tfds_builders  # imports tensorflow_datasets: only when asked

    if data_dir is None:
        raise _no_data_dir(spec.name)
    manual_dir = Path(data_dir).expanduser() / spec.name
    tfds_dir = spec.tfds_data_dir
    if tfds_dir is None:
        import tensorflow_datasets as tfds

        tfds_dir = tfds.core.constants.DATA_DIR
    builder = tfds_builders.prepare(
        spec.name, manual_dir, tfds_dir, skip_bad_lines=spec.skip_bad_lines
    )
    skipped, reasons = tfds_builders.skipped_lines(builder)
    if skipped and not spec.skip_bad_lines:
        raise DataError(
            f"{builder.data_dir}: found a dataset prepared with {skipped} bad lines skipped "
            f"(first: {reasons[0] if reasons else '?'}); expected data.skip_bad_lines: true, "
            "or delete it to prepare again"
        )
    examples = {}
    for split, tfds_split in TFDS_SPLITS.items():
        if tfds_split not in builder.info.splits:
            examples[split] = None
            continue
        texts, labels, lines = tfds_builders.read_split(builder, tfds_split)
        per_split = builder.info.metadata.get("skipped", {}).get(tfds_split, 0)
        examples[split] = Examples(
            path=f"{builder.data_dir}:{tfds_split}",
            texts=texts,
            labels=labels,
            lines=lines,
            skipped=int(per_split),
            skip_reasons=reasons if split == "train" else (),  # the reasons name their files
        )
    return examples, [f"tfds: {builder.info.full_name} in {builder.data_dir}"]


def _no_data_dir(name: str) -> DataError:
    return DataError(
        f"data {name}: found no data directory; expected --data-dir, JAXTUNE_DATA_DIR or "
        f"data.data_dir naming the directory that holds {name}/"
    )


def _carve(spec: DataSpec, examples: dict) -> tuple[dict[str, Examples], list[str]]:
    """Fill missing splits from train (or split `file`) with a seeded stratified split."""
    how = "stratified" if spec.task == "classify" else "shuffled"
    if "file" in examples:
        whole = examples["file"]
        parts = stratified_split(_strata(spec, whole), spec.split, spec.seed)
        note = (
            f"splits: {Path(whole.path).name} split {'/'.join(f'{f:g}' for f in spec.split)}"
            f" into train/val/test, {how}, seed {spec.seed}"
        )
        out = {split: whole.select(part) for split, part in zip(SPLITS, parts, strict=True)}
        for split in ("val", "test"):  # skip counts belong to the file: report them once
            out[split] = dataclasses.replace(out[split], skipped=0, skip_reasons=(), blank_lines=0)
        return out, [note]
    missing = [split for split in ("val", "test") if examples[split] is None]
    if not missing:
        return examples, []
    train = examples["train"]
    fractions = [spec.holdout] * len(missing)
    parts = stratified_split(_strata(spec, train), [1.0 - sum(fractions), *fractions], spec.seed)
    examples = dict(examples)
    examples["train"] = train.select(parts[0])
    for split, part in zip(missing, parts[1:], strict=True):
        examples[split] = dataclasses.replace(
            train.select(part), skipped=0, skip_reasons=(), blank_lines=0
        )
    note = (
        f"splits: {' and '.join(missing)} carved from train ({Path(train.path).name}), "
        f"{spec.holdout:g} each, {how}, seed {spec.seed}"
    )
    return examples, [note]


def _strata(spec: DataSpec, examples: Examples) -> list:
    """Classes to stratify by: the labels, or one class (a seeded shuffle) for tag and ctc."""
    return examples.labels if spec.task == "classify" else [""] * len(examples)


def _buckets(spec: DataSpec, lengths: np.ndarray, width: int) -> tuple[int, ...]:
    """Bucket lengths for training; the last is always the width T, which holds every split."""
    count = spec.buckets
    if count is None:
        count = DEFAULT_BUCKETS_SYNTHETIC if spec.source == "synthetic" else DEFAULT_BUCKETS
    if isinstance(count, int):
        chosen = bucketing.choose_buckets(lengths, count)
        return (*chosen[:-1], width) if chosen[-1] < width else chosen
    buckets = tuple(b for b in spec.buckets if b < width)
    return (*buckets, width)


def _oov_rate(split: Split) -> float:
    real = np.arange(split.max_length)[None, :] < split.lengths[:, None]  # [N, T]
    return float((split.tokens[real] == OOV_ID).mean())


def _synthetic(spec: DataSpec, data_dir) -> tuple[TextDataset, DataReport]:
    dataset = SYNTHETIC_MAKERS[spec.task](spec.synthetic)
    splits = {"train": dataset.train, "val": dataset.val, "test": dataset.test}
    lengths = dataset.train.lengths
    width = dataset.train.max_length
    buckets = _buckets(spec, lengths, width)
    coverage = embedding = None
    if spec.pretrained:
        embedding, coverage = glove.embedding_matrix(
            resolve_path(spec.pretrained, data_dir), dataset.vocab, seed=spec.seed
        )
    report = DataReport(
        name=dataset.name,
        source="synthetic",
        sizes={split: len(splits[split]) for split in SPLITS},
        label_names=dataset.label_names,
        label_counts={
            split: label_counts(splits[split], dataset.label_names, spec.task) for split in SPLITS
        },
        vocab_size=dataset.vocab_size,
        max_length=width,
        mean_length={split: float(splits[split].lengths.mean()) for split in SPLITS},
        truncated=dict.fromkeys(SPLITS, 0),
        oov_rate={split: _oov_rate(splits[split]) for split in SPLITS},
        empty_texts=dict.fromkeys(SPLITS, 0),
        skipped=dict.fromkeys(SPLITS, 0),
        skip_reasons=(),
        blank_lines=0,
        notes=task_note(spec.task, dataset.train, dataset.label_names),
        buckets=buckets,
        padding_waste=bucketing.padding_waste(lengths, buckets),
        padding_waste_unbucketed=bucketing.padding_waste(lengths, width),
        coverage=coverage,
        embedding=embedding,
    )
    return dataset, report
