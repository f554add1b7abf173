"""population/status.py: a config's Status and the early-stopping settings, plain Python."""

import dataclasses
import subprocess
import sys

import jax.numpy as jnp
import pytest

from jaxtune.population.status import MONITORS, EarlyStopping, Status


@pytest.mark.parametrize(
    "monitor,mode",
    [("val_loss", "min"), ("val_accuracy", "max"), ("val_macro_f1", "max")],
)
def test_mode_minimises_the_loss_and_maximises_the_scores(monitor, mode):
    assert EarlyStopping(monitor=monitor).mode == mode


def test_every_monitor_has_a_mode_and_the_default_is_the_validation_loss():
    assert set(MONITORS.values()) <= {"min", "max"}
    default = EarlyStopping()
    assert default.monitor == "val_loss" and default.mode == "min"
    assert default.patience is None  # no stopping unless asked for
    assert default.restore_best


def test_early_stopping_is_frozen_and_hashes_by_value():
    """Static settings of a compiled program: equal settings are one cache key."""
    settings = EarlyStopping(monitor="val_accuracy", patience=3, min_delta=0.01)
    assert settings == EarlyStopping(monitor="val_accuracy", patience=3, min_delta=0.01)
    assert hash(settings) == hash(EarlyStopping("val_accuracy", 3, 0.01))
    assert settings != dataclasses.replace(settings, restore_best=False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.patience = 5


def test_status_values_are_distinct_and_survive_an_int32_array():
    """The lifecycle stores a Status as an int32 array; snapshots store the ints."""
    assert len({int(s) for s in Status}) == len(Status)
    codes = jnp.array([int(s) for s in Status], jnp.int32)
    assert [Status(int(c)) for c in codes] == list(Status)


def test_importing_the_module_imports_no_array_library():
    """The spec imports it before anything starts jax (its docstring: plain Python)."""
    code = (
        "import sys, jaxtune.population.status\n"
        "print(sorted(m for m in ('jax', 'jaxlib', 'numpy', 'flax') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"
