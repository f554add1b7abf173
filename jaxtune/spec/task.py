"""What the spec's `task:` rules out: settings that have no meaning for tag or ctc."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jaxtune.distributions import Distribution
from jaxtune.spec.errors import Reader
from jaxtune.spec.parameters import sweep_choices, written_key
from jaxtune.spec.train import TrainSpec


def check_task(
    read: Reader,
    task: str,
    document: Mapping,
    fixed: Mapping[str, Any],
    swept: Mapping[str, list[Any]],
    distributions: Mapping[str, Distribution],
    train: TrainSpec,
) -> None:
    """Raise a one-line SpecError for what task `task` cannot run.

    tag and ctc need per-step outputs, which only the recurrent encoders give: a sweep
    over the text CNN is refused (a named config that asks for it is FAILED alone, so a
    study of named configs shows the others). Class weights are a classification setting.
    ctc reads whole inputs: a `max_length` hyperparameter that cuts them would cut
    targets' alignments, so the input width is data.max_length's.
    """
    if task == "classify":
        return
    sections = [("model", document.get("model")), ("parameters", document.get("parameters"))]
    if "cnn" in sweep_choices("architecture", fixed, swept, distributions):
        raise read.error(
            written_key(read, sections, "architecture"),
            f"found cnn; task {task} needs an output per step, which the text CNN (pooled "
            "over time) does not give: use gru, lstm or rnn",
        )
    if train.class_weights != "none":
        raise read.error(
            "train.class_weights",
            f"found {train.class_weights!r}; class weights apply to task classify only",
        )
    if task == "ctc" and sweep_choices("max_length", fixed, swept, distributions):
        raise read.error(
            written_key(read, sections, "max_length"),
            "task ctc reads whole inputs (cut ones would lose their targets); set the input "
            "width with data.max_length instead",
        )
