"""Parameters on disk: each population's best-evaluation params, for `jaxtune final`.

One orbax checkpoint per population (`DIR/params/population_NNN`) holds the stacked
[K, ...] best params of the configs in its slots at its end; a config that left a slot
for a queued one (plan.streamed) has its own, stacked [1, ...], written as it leaves
(`DIR/params/population_NNN_trials/trial_TTTTTT`). A result record names its checkpoint
and slot. Orbax writes to a
temporary directory and renames it when complete, so a kill never leaves a half-written
checkpoint that looks finished.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
import numpy as np
import orbax.checkpoint as ocp

from jaxtune.layout import PARAMS_DIR
from jaxtune.layout import population_path as _population_path


def population_path(directory: Path, population: int) -> Path:
    return _population_path(directory, PARAMS_DIR, population)


def save_population_params(directory: Path, population: int, params) -> str:
    """Write a population's stacked params; returns the path relative to `directory`."""
    return _save(directory, population_path(directory, population), params)


def save_trial_params(directory: Path, population: int, trial_id: int, params) -> str:
    """Write one config's params ([1, ...] stacked), as it leaves its population's slot."""
    folder = population_path(directory, population)
    path = folder.with_name(f"{folder.name}_trials") / f"trial_{trial_id:06d}"
    return _save(directory, path, params)


def _save(directory: Path, path: Path, params) -> str:
    checkpointer = ocp.StandardCheckpointer()
    checkpointer.save(path.resolve(), params, force=True)
    checkpointer.wait_until_finished()
    checkpointer.close()
    return str(path.relative_to(directory))


def load_config_params(directory: Path, reference: dict[str, Any]):
    """One config's params: slot `reference["slot"]` of checkpoint `reference["checkpoint"]`."""
    path = (Path(directory) / reference["checkpoint"]).resolve()
    checkpointer = ocp.StandardCheckpointer()
    stacked = checkpointer.restore(path)
    checkpointer.close()
    slot = reference["slot"]
    return jax.tree.map(lambda leaf: np.asarray(leaf)[slot], stacked)
