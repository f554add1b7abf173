"""Sequence-output tasks: task names, the CTC blank, JSONL labels, feasibility, label counts.

A `classify` split has one label per example, a `tag` split one label per token, and
a `ctc` split a target sequence shorter than its input, read without an alignment;
label id 0 of a ctc dataset is the CTC blank.
"""

from __future__ import annotations

import json

import numpy as np

from jaxtune.data.dataset import Split
from jaxtune.tasks import TASKS as TASK_SPECS

TASKS = tuple(TASK_SPECS)  # classify, tag, ctc (jaxtune/tasks.py)
BLANK = "<blank>"  # ctc label id 0
LABEL_KEYS = {"classify": "label", "tag": "tags", "ctc": "target"}  # default JSONL keys


def check_task(task: str) -> str:
    if task not in TASKS:
        raise ValueError(f"task: expected one of {', '.join(TASKS)}, found {task!r}")
    return task


def sequence_labels(value, key: str, task: str) -> tuple[tuple[str, ...], str | None]:
    """The labels of a JSONL tags list or ctc target, or a problem ('found ...; expected ...').

    A ctc target string is read character by character; list items are non-empty strings
    or integers (an integer becomes its decimal string).
    """
    if task == "ctc" and isinstance(value, str):
        labels = tuple(value.strip())  # a string target: one label per character
    elif isinstance(value, list) and all(_label_item(item) for item in value):
        labels = tuple(str(item).strip() for item in value)
    else:
        what, kind = ("tags", "a list") if task == "tag" else ("target", "a string or a list")
        return (), (
            f"found {what} {_json_preview(value)} under {key!r}; "
            f"expected {kind} of non-empty strings or integers"
        )
    if not labels and task == "tag":
        return (), f"found an empty tags list under {key!r}; expected one label per token"
    if not labels:
        return (), f"found an empty target under {key!r}; expected at least one label"
    if task == "ctc" and BLANK in labels:
        return (), (
            f"found label {BLANK!r} in the target under {key!r}; expected other names: "
            f"{BLANK} is the CTC blank (id 0)"
        )
    return labels, None


def _label_item(item) -> bool:
    if isinstance(item, bool):
        return False
    return isinstance(item, int) or (isinstance(item, str) and bool(item.strip()))


def _json_preview(value, width: int = 40) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= width else text[:width] + "..."


def repeats(label_lengths: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Positions i > 0 within each label length where labels[i] == labels[i - 1].

    Args:
      label_lengths: [N] int.
      labels: [N, S] int.

    Returns:
      [N] int64: CTC needs a blank step between each such pair.
    """
    labels = np.asarray(labels)
    label_lengths = np.asarray(label_lengths)
    position = np.arange(1, labels.shape[1])[None, :]  # [1, S - 1]
    same = labels[:, 1:] == labels[:, :-1]  # [N, S - 1]
    return (same & (position < label_lengths[:, None])).sum(axis=1)  # [N]


def ctc_feasible(label_lengths: np.ndarray, labels: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Whether each target fits its input: label_length + repeats <= length.

    Args:
      label_lengths: [N] int.
      labels: [N, S] int, target ids (anything after each label length is ignored).
      lengths: [N] int, input steps.

    Returns:
      [N] bool.
    """
    label_lengths = np.asarray(label_lengths)
    needed = label_lengths + repeats(label_lengths, labels)  # [N]
    return needed <= np.asarray(lengths)


def label_counts(split: Split, label_names: tuple[str, ...], task: str) -> dict[str, int]:
    """label -> count: examples (classify), tokens' tags (tag) or target symbols (ctc)."""
    if task == "classify":
        ids = split.labels  # [N]
    elif task == "tag":
        real = np.arange(split.labels.shape[1])[None, :] < split.lengths[:, None]  # [N, T]
        ids = split.labels[real]
    else:
        within = np.arange(split.labels.shape[1])[None, :] < split.label_lengths[:, None]  # [N, S]
        ids = split.labels[within]
    counts = np.bincount(ids, minlength=len(label_names)).tolist()  # [C]
    return dict(zip(label_names, counts, strict=True))


def task_note(task: str, train: Split, label_names: tuple[str, ...]) -> tuple[str, ...]:
    """One report line on what a tag or ctc dataset's targets look like; none for classify."""
    if task == "tag":
        shown = ", ".join(label_names[:8]) + (", ..." if len(label_names) > 8 else "")
        return (f"task tag: one of {len(label_names)} labels per token ({shown})",)
    if task == "ctc":
        targets = train.label_lengths
        ratio = float(train.lengths.sum()) / max(int(targets.sum()), 1)
        return (
            f"task ctc: targets of {int(targets.min())} to {int(targets.max())} labels "
            f"(mean {float(targets.mean()):.1f}), inputs {ratio:.1f}x as long; "
            f"{len(label_names) - 1} labels and {BLANK} (id 0)",
        )
    return ()
