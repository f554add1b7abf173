"""The chosen model, usable: one config of a finished sweep exported as a directory of its
own, and that directory loaded again to classify new text.

MODEL_DIR/
  params/          the config's params (its best evaluation's), an orbax checkpoint of the
                   flax params tree: `ocp.StandardCheckpointer().restore(MODEL_DIR/params)`
  tokenizer.json   the sweep's vocabulary (tokenizers), tokenizer.settings.json beside it
  model.json       the model card as data: the config, the labels, the vocabulary size,
                   the token width, the metrics, the data, the jaxtune version
  README.md        the model card for people
"""

from __future__ import annotations

import datetime
import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from jaxtune.layout import FINAL_FILE, TOKENIZER_FILE, TOKENIZER_SETTINGS_FILE
from jaxtune.results import best_value, rank, read_results, write_json

MODEL_FILE = "model.json"
CARD_FILE = "README.md"
PARAMS_DIR = "params"


class ExportError(ValueError):
    """A model that cannot be exported or loaded: one line saying why."""


def export_model(directory: Path, trial_id: int | None = None, out: Path | None = None) -> Path:
    """Write the best config of the sweep in `directory` (or trial `trial_id`) to `out`
    (default DIR/export/trial_NNNNNN); returns it."""
    import orbax.checkpoint as ocp

    from jaxtune import __version__
    from jaxtune.checkpoints import load_config_params
    from jaxtune.population.program import program_for
    from jaxtune.population.shapes import corner_slice
    from jaxtune.space import complete_config
    from jaxtune.spec.resolve import read_resolved

    directory = Path(directory)
    spec = read_resolved(directory)
    if spec.task != "classify":
        raise ExportError(f"{directory}: export classifies text; this sweep's task is {spec.task}")
    records = rank(read_results(directory), spec.metric, spec.goal)
    record = _chosen(directory, records, spec.metric, trial_id)
    if "params" not in record:
        raise ExportError(f"{directory}: trial {record['trial_id']} has no saved params")
    out = Path(out) if out is not None else directory / "export" / f"trial_{record['trial_id']:06d}"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    config = complete_config(record["hparams"])
    program = program_for(config, _Shapes(spec.vocab_size, spec.num_classes))
    # A merged program kept it in the corner of its widest config's shapes.
    params = corner_slice(
        load_config_params(directory, record["params"]), program.native_params(None)
    )
    checkpointer = ocp.StandardCheckpointer()
    checkpointer.save((out / PARAMS_DIR).resolve(), params)
    checkpointer.wait_until_finished()
    checkpointer.close()
    for name in (TOKENIZER_FILE, TOKENIZER_SETTINGS_FILE):
        if (directory / name).is_file():
            shutil.copyfile(directory / name, out / name)
    final = (
        json.loads((directory / FINAL_FILE).read_text())
        if (directory / FINAL_FILE).is_file()
        else None
    )
    card = {
        "jaxtune_version": __version__,
        "exported_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "sweep": {
            "directory": str(directory.resolve()),
            "name": spec.name,
            "trial_id": record["trial_id"],
        },
        "task": spec.task,
        "config": record["hparams"],
        "labels": list(spec.label_names),
        "vocab_size": spec.vocab_size,
        "width": spec.width,
        "data": spec.data.name,
        "metric": spec.metric,
        "validation": record.get("best") or {},
        "best_epoch": record["best_epoch"],
        "test": None
        if final is None or final.get("trial_id") != record["trial_id"]
        else {k: v for k, v in final.items() if k.startswith("test_")},
    }
    write_json(out / MODEL_FILE, card)
    (out / CARD_FILE).write_text(model_card(card), encoding="utf-8")
    return out


class _Shapes:
    """What program_for reads of a dataset: its vocabulary and classes, the classify task."""

    task = "classify"

    def __init__(self, vocab_size: int, num_classes: int):
        self.vocab_size, self.num_classes = vocab_size, num_classes


def _chosen(directory: Path, records, metric: str, trial_id: int | None) -> dict[str, Any]:
    if trial_id is None:
        finished = [r for r in records if best_value(r, metric) is not None]
        if not finished:
            raise ExportError(f"{directory}: no config finished with a finite {metric}")
        return finished[0]
    for record in records:
        if record["trial_id"] == trial_id:
            return record
    known = ", ".join(str(r["trial_id"]) for r in sorted(records, key=lambda r: r["trial_id"]))
    raise ExportError(f"--trial: no trial {trial_id} in {directory}; its trials: {known}")


def model_card(card: dict[str, Any]) -> str:
    """The model card for people: what was trained, on what, and how well."""
    config = card["config"]
    shown = {
        k: config[k]
        for k in (
            "architecture",
            "hidden_size",
            "num_layers",
            "embedding_dim",
            "learning_rate",
            "optimizer",
            "dropout",
            "batch_size",
        )
        if k in config
    }
    validation = ", ".join(
        f"{k} {v:.4f}"
        for k, v in card["validation"].items()
        if k.startswith("val_") and isinstance(v, float)
    )
    test = card["test"]
    lines = [
        f"# {card['sweep']['name']}: trial {card['sweep']['trial_id']}",
        "",
        f"A {config['architecture']} text classifier exported by jaxtune {card['jaxtune_version']} "
        f"from the sweep in `{card['sweep']['directory']}` ({card['exported_at']}).",
        "",
        f"- Data: {card['data']}; labels: {', '.join(card['labels'])}; vocabulary "
        f"{card['vocab_size']}; texts read up to {card['width']} tokens.",
        f"- Config: {', '.join(f'{k}={v}' for k, v in shown.items())} (all of it in model.json).",
        f"- Validation at its best epoch ({card['best_epoch']}): {validation or 'none'}.",
        "- Test (jaxtune final): "
        + (
            ", ".join(f"{k} {v:.4f}" for k, v in test.items() if isinstance(v, float))
            if test
            else "not evaluated"
        ),
        "",
        "Classify new text: `jaxtune predict THIS_DIR FILE` (one text per line, or a CSV/JSONL",
        "column). The params alone: `ocp.StandardCheckpointer().restore(THIS_DIR/params)`.",
    ]
    return "\n".join(lines) + "\n"


class Model:
    """An exported model loaded for prediction on the CPU (or the default device)."""

    def __init__(self, folder: Path):
        import orbax.checkpoint as ocp

        from jaxtune.data.tokenize import load_tokenizer
        from jaxtune.models import build_classifier
        from jaxtune.space import complete_config

        self.folder = Path(folder)
        path = self.folder / MODEL_FILE
        if not path.is_file():
            raise ExportError(
                f"{folder}: no {MODEL_FILE}; expected a directory of `jaxtune export`"
            )
        self.card = json.loads(path.read_text(encoding="utf-8"))
        self.labels = tuple(self.card["labels"])
        self.config = complete_config(self.card["config"])
        self.tokenizer = load_tokenizer(self.folder / TOKENIZER_FILE)
        self.model = build_classifier(self.config, self.card["vocab_size"], len(self.labels))
        checkpointer = ocp.StandardCheckpointer()
        self.params = checkpointer.restore((self.folder / PARAMS_DIR).resolve())
        checkpointer.close()
        limit = self.config.get("max_length")
        self.width = min(limit, self.card["width"]) if limit else self.card["width"]

    def probabilities(self, texts: Sequence[str], batch_size: int = 256) -> np.ndarray:
        """[N, C] class probabilities of `texts`, `batch_size` at a time."""
        import jax

        from jaxtune.data.tokenize import encode_ids

        apply = jax.jit(
            lambda params, tokens, lengths: jax.nn.softmax(
                self.model.apply({"params": params}, tokens, lengths), axis=-1
            )
        )
        out = []
        for start in range(0, len(texts), batch_size):
            encoded = encode_ids(
                self.tokenizer, texts[start : start + batch_size], self.width, self.width
            )
            out.append(np.asarray(apply(self.params, encoded.tokens, encoded.lengths)))
        return np.concatenate(out) if out else np.zeros((0, len(self.labels)), np.float32)

    def predict(self, texts: Sequence[str], batch_size: int = 256) -> list[tuple[str, float]]:
        """(label, probability) of each text."""
        probabilities = self.probabilities(texts, batch_size)
        best = probabilities.argmax(axis=-1)
        return [(self.labels[i], float(p[i])) for i, p in zip(best, probabilities, strict=True)]


def read_texts(source: str, column: str | None = None) -> list[str]:
    """The texts to classify: `source` a file path or '-' (stdin); plain text is one text a
    line, a .csv/.tsv file or a .jsonl file gives `column` ('text' by default). A line that
    cannot be read is an ExportError naming the file and line."""
    import csv
    import io
    import sys

    name = "<stdin>" if source == "-" else source
    try:
        content = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ExportError(f"{source}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ExportError(f"{source}: cannot read: {error}") from None
    suffix = "" if source == "-" else Path(source).suffix.lower()
    key = column or "text"
    texts = []
    if suffix in (".csv", ".tsv"):
        reader = csv.DictReader(io.StringIO(content), delimiter="\t" if suffix == ".tsv" else ",")
        if reader.fieldnames is None or key not in reader.fieldnames:
            found = ", ".join(reader.fieldnames or []) or "no header"
            raise ExportError(f"{name}:1: no column {key!r}; found {found} (--column names it)")
        for row in reader:
            value = row.get(key)
            if value is None or not value.strip():
                raise ExportError(f"{name}:{reader.line_num}: no text in column {key!r}")
            texts.append(value)
        return texts
    for number, line in enumerate(content.splitlines(), start=1):
        if suffix == ".jsonl":
            if not line.strip():
                continue
            try:
                value = json.loads(line)[key]
            except (json.JSONDecodeError, TypeError, KeyError):
                raise ExportError(
                    f"{name}:{number}: expected a JSON object with a string {key!r}, "
                    f"found {line[:60]!r}"
                ) from None
            if not isinstance(value, str) or not value.strip():
                raise ExportError(f"{name}:{number}: {key!r} is not a non-empty string")
            texts.append(value)
        else:
            if not line.strip():
                raise ExportError(f"{name}:{number}: an empty line; expected one text a line")
            texts.append(line)
    return texts
