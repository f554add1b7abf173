"""The sweep spec: YAML read section by section (one module each), then resolved against
the loaded data (`jaxtune.spec.resolve`, imported on its own: it loads the data).

  document.py    the whole spec: top level, metric, method, the sections in order
  model.py       model (fixed hyperparameters) and configs (named configs)
  parameters.py  parameters: swept values, W&B distributions, baselines
  data.py        data: DataSpec, presets, one-line errors
  lengths.py     max_length requests against data.max_length
  train.py       train: epochs, early stopping, evaluation, class weights
  budget.py      budget: widths, memory, chunks, devices, time limit, unroll
  errors.py      SpecError and the reader that names file and key path
  resolve.py     the data's facts applied once: ResolvedSpec, resolved.json
"""

from jaxtune.spec.budget import Budget
from jaxtune.spec.document import (
    DEFAULT_RUN_CAP,
    GOALS,
    METHODS,
    OPTUNA_SAMPLERS,
    TOP_LEVEL,
    SweepSpec,
    load_spec,
    parse_spec,
)
from jaxtune.spec.errors import SpecError
from jaxtune.spec.train import METRIC_ALIASES, TrainSpec

__all__ = [
    "DEFAULT_RUN_CAP",
    "GOALS",
    "METHODS",
    "METRIC_ALIASES",
    "OPTUNA_SAMPLERS",
    "TOP_LEVEL",
    "Budget",
    "SpecError",
    "SweepSpec",
    "TrainSpec",
    "load_spec",
    "parse_spec",
]
