"""Population snapshots for exact resume: the whole training state every N epochs.

While a population trains, `DIR/snapshots/population_NNN` holds an orbax
`CheckpointManager` whose step is the number of epochs done. A snapshot is the complete
[K]-stacked `ConfigState` (params, optimizer state, best params, keys, statuses, early
stopping and plateau counters), stored as one mapping from field name to value (the
layout of sweeps written before the state was split, population/state.py), plus, as
JSON, every config's metric history so far.
Saves are asynchronous: the state is first copied to host memory (the device buffers
are donated to the next epoch), then written in the background while training goes on.

Orbax writes each step to a temporary directory and renames it when complete, so a kill
(even -9, even mid-write) leaves only finished snapshots visible; leftovers are removed
when the manager is opened again. Everything an epoch computes is a function of the
state and the (seed, epoch) batch order, so training resumed from a snapshot is
identical to an uninterrupted run. A population's snapshots are deleted once its
results are on disk.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import jax
import numpy as np
import orbax.checkpoint as ocp

from jaxtune.layout import SNAPSHOTS_DIR, population_path
from jaxtune.population.state import ConfigState, flat, from_flat

KEEP = 2  # the newest snapshot, and one before it while the newest is being written


def snapshot_path(directory: Path, population: int) -> Path:
    return population_path(directory, SNAPSHOTS_DIR, population)


def _to_host(state: ConfigState) -> dict[str, Any]:
    """A copy of the state's fields in host memory, keys as raw data (orbax stores plain
    arrays)."""
    fields = flat(state)
    fields["key"] = jax.random.key_data(fields["key"])
    return jax.tree.map(np.array, jax.device_get(fields))


class PopulationSnapshots:
    """Save and restore one population's training state; `every` epochs between saves."""

    def __init__(self, directory: Path, population: int, every: int):
        self.path = snapshot_path(directory, population).resolve()
        self.every = every
        self._manager = ocp.CheckpointManager(
            self.path,
            options=ocp.CheckpointManagerOptions(
                max_to_keep=KEEP,
                create=True,
                cleanup_tmp_directories=True,
                enable_async_checkpointing=True,
            ),
        )

    def latest_epoch(self) -> int | None:
        return self._manager.latest_step()

    def progress(self) -> dict[str, Any]:
        """The newest snapshot's progress alone (what shape of state it holds)."""
        epoch = self._manager.latest_step()
        restored = self._manager.restore(
            epoch, args=ocp.args.Composite(progress=ocp.args.JsonRestore())
        )
        return restored["progress"]

    def restore(self, template) -> tuple[Any, dict[str, Any]]:
        """(state, progress) of the newest snapshot; template: a state of the same shapes."""
        epoch = self._manager.latest_step()
        host = _to_host(template)
        # Hyperparameters that became per-config arrays after the snapshot was written
        # (optimizer, nesterov) are not in it; they are the configs' own values, which
        # the template (made from the same configs) holds.
        saved = ocp.StandardCheckpointer().metadata(self.path / str(epoch) / "state")
        newer = set(host["hparams"]) - set(saved.item_metadata["hparams"])
        target = {**host, "hparams": {k: v for k, v in host["hparams"].items() if k not in newer}}
        restored = self._manager.restore(
            epoch,
            args=ocp.args.Composite(
                state=ocp.args.StandardRestore(target),
                progress=ocp.args.JsonRestore(),
            ),
        )
        restored["state"]["hparams"].update({k: host["hparams"][k] for k in newer})
        fields = jax.device_put(restored["state"])
        fields["key"] = jax.random.wrap_key_data(fields["key"])
        return from_flat(fields), restored["progress"]

    def maybe_save(self, epoch: int, state, progress: dict[str, Any], *, last: bool) -> bool:
        """Snapshot after `epoch` epochs when it is due (every N, and after the last)."""
        if not (last or epoch % self.every == 0):
            return False
        self._manager.save(
            epoch,
            args=ocp.args.Composite(
                state=ocp.args.StandardSave(_to_host(state)),
                progress=ocp.args.JsonSave(progress),
            ),
        )
        return True

    def close(self) -> None:
        """Wait for a save in flight, then release the manager."""
        self._manager.wait_until_finished()
        self._manager.close()

    def delete(self) -> None:
        self.close()
        shutil.rmtree(self.path, ignore_errors=True)
