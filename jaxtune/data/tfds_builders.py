"""TFDS builders for emotion, SST-2 and IMDB that read local files and need no TensorFlow.

Each builder reads the files of its `manual_dir` (the names used in
`shared/data/<name>/`, gzip or plain) with `files.read_examples`, so a bad line
fails with the same `FILE:LINE` message as the `files` source. The prepared
dataset is written as `array_record` and read back with `as_data_source()`, a
random-access reader that needs only `array_record` (a dependency of
`tensorflow-datasets` on Linux), never TensorFlow. Nothing is downloaded:
`download_and_prepare` reuses a prepared dataset and otherwise only reads the
manual_dir.

Features: `text` (Text), `label` (ClassLabel named by the labels as the files
write them, so ids equal the files source's) and `line` (the example's line in
its file, so a reader can restore file order: TFDS stores examples shuffled by
key). Lines skipped with `skip_bad_lines=True` are counted in the dataset's
metadata (`skipped`, `skip_reasons`), so reusing such a dataset is never silent.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import tensorflow_datasets as tfds

from jaxtune.data.examples import check_labels
from jaxtune.data.files import read_examples

FILE_FORMAT = "array_record"


class LocalTextBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    """A text classification dataset from local files; subclasses name the files and labels."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Local files, array_record, line numbers kept."}
    LABELS: tuple[str, ...] = ()
    # split -> (file name in manual_dir, read_examples keyword arguments)
    FILES: dict[str, tuple[str, dict]] = {}
    DESCRIPTION = ""
    HOMEPAGE = ""
    CITATION = ""
    MANUAL_DOWNLOAD_INSTRUCTIONS = "Put the files named in FILES (gzip or plain) in manual_dir."

    @tfds.core.utils.classproperty
    @classmethod
    def code_path(cls) -> tfds.core.Path:
        # TFDS 4.9.10 finds the code of a builder that lives in a package through
        # `importlib_resources`, which it does not declare for Python >= 3.9
        # (tensorflow/datasets#11212). It only looks next to the code for a
        # checksums file, which local files do not have: name the file directly.
        return tfds.core.Path(inspect.getfile(cls))

    def __init__(self, *, skip_bad_lines: bool = False, **kwargs):
        self.skip_bad_lines = skip_bad_lines
        kwargs.setdefault("file_format", FILE_FORMAT)
        super().__init__(**kwargs)

    def _info(self) -> tfds.core.DatasetInfo:
        return tfds.core.DatasetInfo(
            builder=self,
            description=self.DESCRIPTION,
            features=tfds.features.FeaturesDict(
                {
                    "text": tfds.features.Text(),
                    "label": tfds.features.ClassLabel(names=list(self.LABELS)),
                    "line": tfds.features.Scalar(dtype=np.int64),
                }
            ),
            supervised_keys=("text", "label"),
            homepage=self.HOMEPAGE,
            citation=self.CITATION,
            metadata=tfds.core.MetadataDict(),
        )

    def _split_generators(self, dl_manager):
        manual_dir = Path(dl_manager.manual_dir)
        self.info.metadata["skipped"] = {}
        self.info.metadata["skip_reasons"] = []
        return {
            split: self._generate_examples(split, manual_dir / name, options)
            for split, (name, options) in self.FILES.items()
        }

    def _generate_examples(self, split: str, path: Path, options: dict):
        if not path.exists() and path.suffix == ".gz" and path.with_suffix("").exists():
            path = path.with_suffix("")  # an uncompressed copy is fine too
        examples = read_examples(path, skip_bad_lines=self.skip_bad_lines, **options)
        examples = check_labels(
            examples,
            self.LABELS,
            skip_bad_lines=self.skip_bad_lines,
            known_from=f"the classes of {self.name}",
        )
        self.info.metadata["skipped"][split] = examples.skipped
        self.info.metadata["skip_reasons"].extend(examples.skip_reasons)
        for text, label, line in zip(examples.texts, examples.labels, examples.lines, strict=True):
            yield line, {"text": text, "label": label, "line": line}


class JaxtuneEmotion(LocalTextBuilder):
    """Emotion (CARER, dair-ai/emotion): English tweets, 6 classes, 16k/2k/2k."""

    name = "jaxtune_emotion"
    LABELS = ("sadness", "joy", "love", "anger", "fear", "surprise")  # Hugging Face ids 0-5
    FILES = {
        "train": ("train.txt.gz", {"format": "semicolon"}),
        "validation": ("val.txt.gz", {"format": "semicolon"}),
        "test": ("test.txt.gz", {"format": "semicolon"}),
    }
    DESCRIPTION = "Emotion (CARER): English tweets labelled with one of six emotions."
    HOMEPAGE = "https://github.com/dair-ai/emotion_dataset"
    CITATION = "Saravia et al., CARER: Contextualized Affect Representations, EMNLP 2018."


class JaxtuneSst2(LocalTextBuilder):
    """SST-2 as GLUE ships it: train and validation (GLUE's test has no labels); 0 negative."""

    name = "jaxtune_sst2"
    LABELS = ("0", "1")
    TSV = {"format": "tsv", "text_column": "sentence", "label_column": "label", "header": True}
    FILES = {"train": ("train.tsv.gz", TSV), "validation": ("dev.tsv.gz", TSV)}
    DESCRIPTION = "SST-2 (GLUE): binary sentiment of movie review phrases; 0 negative, 1 positive."
    HOMEPAGE = "https://gluebenchmark.com/"
    CITATION = "Socher et al., Recursive Deep Models for Semantic Compositionality, EMNLP 2013."


class JaxtuneImdb(LocalTextBuilder):
    """IMDB (aclImdb v1.0) as JSON lines: 25k train, 25k test; 0 negative, 1 positive."""

    name = "jaxtune_imdb"
    LABELS = ("0", "1")
    JSONL = {"format": "jsonl", "text_column": "text", "label_column": "label"}
    FILES = {"train": ("train.jsonl.gz", JSONL), "test": ("test.jsonl.gz", JSONL)}
    DESCRIPTION = "Large Movie Review Dataset: binary sentiment; 0 negative, 1 positive."
    HOMEPAGE = "https://ai.stanford.edu/~amaas/data/sentiment/"
    CITATION = "Maas et al., Learning Word Vectors for Sentiment Analysis, ACL 2011."


BUILDERS = {"emotion": JaxtuneEmotion, "sst2": JaxtuneSst2, "imdb": JaxtuneImdb}


def prepare(
    name: str, manual_dir: str | Path, data_dir: str | Path, *, skip_bad_lines: bool = False
) -> LocalTextBuilder:
    """The builder of `name` with its dataset prepared in `data_dir` (reused if already there)."""
    if name not in BUILDERS:
        raise ValueError(f"unknown TFDS dataset {name!r}; allowed: {', '.join(BUILDERS)}")
    builder = BUILDERS[name](data_dir=str(data_dir), skip_bad_lines=skip_bad_lines)
    if not builder.is_prepared():
        tfds.display_progress_bar(False)
    # A no-op when the dataset is prepared; never asks GCS for a prepared copy.
    builder.download_and_prepare(
        file_format=FILE_FORMAT,
        download_config=tfds.download.DownloadConfig(
            manual_dir=str(manual_dir), try_download_gcs=False
        ),
    )
    return builder


def read_split(builder: LocalTextBuilder, split: str) -> tuple[list[str], list[str], list[int]]:
    """(texts, labels as written, lines) of a prepared split, in file order."""
    source = builder.as_data_source(split=split)
    records = source.__getitems__(range(len(source))) if len(source) else []
    records.sort(key=lambda record: int(record["line"]))
    names = builder.info.features["label"].names
    texts = [record["text"].decode("utf-8") for record in records]
    labels = [names[int(record["label"])] for record in records]
    return texts, labels, [int(record["line"]) for record in records]


def skipped_lines(builder: LocalTextBuilder) -> tuple[int, tuple[str, ...]]:
    """Lines the prepared dataset skipped, and the first reasons."""
    metadata = builder.info.metadata or {}
    skipped = metadata.get("skipped") or {}
    return sum(int(n) for n in skipped.values()), tuple(metadata.get("skip_reasons") or ())
