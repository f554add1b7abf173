"""The task types a sweep can train, and the validation metrics each reports: plain Python,
imported by the spec.

classify: one label per text (logits [B, C]). tag: one label per input token (logits
[B, T, C], padding masked out of loss and metrics). ctc: an output sequence shorter than
the input, alignment-free (optax's CTC loss, greedy decoding; ctc.py).
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Task:
    """name: the spec's `task:` value. metrics: the validation metrics recorded after every
    evaluation (as `val_<name>`), the first the loss; goals: "max" or "min" for each;
    default_metric: the sweep metric when the spec names none."""

    name: str
    metrics: tuple[str, ...]
    goals: tuple[str, ...]
    default_metric: str
    summary: str  # what the train accuracy counts, for the report

    @property
    def per_step(self) -> bool:
        """Whether the model emits one output per input step (tag, ctc)."""
        return self.name != "classify"

    @property
    def monitors(self) -> dict[str, str]:
        """Every validation metric (`val_<name>`) with its goal: "max" or "min"."""
        return {f"val_{m}": g for m, g in zip(self.metrics, self.goals, strict=True)}

    def shown(self, first: str) -> list[str]:
        """The validation metrics as a ranking shows them: `first` (the sweep metric), then
        val_loss, then the task's others in its order."""
        return list(dict.fromkeys([first, "val_loss", *self.monitors]))

    @property
    def has_confusion(self) -> bool:
        """Whether its evaluation counts a [C, C] confusion (per-class accuracy)."""
        return self.name != "ctc"


TASKS = {
    "classify": Task(
        "classify",
        ("loss", "accuracy", "macro_f1"),
        ("min", "max", "max"),
        "val_accuracy",
        "examples classified right",
    ),
    "tag": Task(
        "tag",
        ("loss", "token_accuracy", "sequence_accuracy", "macro_f1"),
        ("min", "max", "max", "max"),
        "val_token_accuracy",
        "tokens tagged right",
    ),
    "ctc": Task(
        "ctc",
        ("loss", "char_accuracy", "cer", "sequence_accuracy"),
        ("min", "max", "min", "max"),
        "val_char_accuracy",
        "sequences decoded exactly",
    ),
}

# Every metric any task records, with its goal: what early stopping and the spec accept.
ALL_MONITORS = {name: goal for task in TASKS.values() for name, goal in task.monitors.items()}


def task_of(name: str) -> Task:
    return TASKS[name]
