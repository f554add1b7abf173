"""Checks of a `data:` section against the spec's task: its synthetic name, source and format.

Task tag's synthetic dataset is parity, task ctc's is readout; both read own JSONL files
only (no presets, no TFDS builders). Each check raises `error(key, message)`, one line.
"""

from __future__ import annotations

from jaxtune.data.files import infer_format
from jaxtune.data.synthetic_sequences import SYNTHETIC_NAMES
from jaxtune.spec.data import PRESETS


def check_task_name(name, source: str, task: str, error) -> None:
    """A name that belongs to another task (or a source that task cannot read) fails."""
    own = SYNTHETIC_NAMES[task]
    if source == "synthetic" and name not in (None, "synthetic", own):
        for other, synthetic_name in SYNTHETIC_NAMES.items():
            if name == synthetic_name:
                raise error(
                    "name", f"{name} is the synthetic task for task {other}; found task {task}"
                )
        shown = "synthetic" if own == "synthetic" else f"synthetic or {own}"
        raise error("name", f"expected {shown} for source synthetic, found {name!r}")
    if task == "classify":
        return
    if source == "tfds":
        raise error("source", f"tfds datasets are for task classify; task {task} reads JSONL files")
    if name in PRESETS:
        raise error("name", f"{name} is a dataset for task classify; found task {task}")


def check_jsonl(values, task: str, error) -> None:
    """Tasks tag and ctc read JSONL only: an explicit or inferred other format fails."""
    if "format" in values:
        if values["format"] != "jsonl":
            raise error(
                "format", f"found {values['format']}; expected jsonl: task {task} reads JSONL"
            )
        return
    for key in ("train", "val", "test", "file"):
        if key in values:
            format = infer_format(values[key])
            if format != "jsonl":
                raise error(
                    "format",
                    f"found {format} (from {values[key]!r}); expected jsonl: task {task} "
                    "reads JSONL",
                )
