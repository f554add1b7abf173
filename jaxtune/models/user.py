"""Your own Flax module as an architecture: imported by path, its hyperparameters
registered, its contract checked before any training.

The module is written for ONE config and is the encoder between jaxtune's embedding
and its head (README, "Your own model"):

    class AttentionGRU(nn.Module):
        hidden_size: int = 64                       # fields: static hyperparameters
        dynamic_hparams = {"attention_dropout": 0.1}  # traced ones: name -> default

        @nn.compact
        def __call__(self, xs, lengths, hparams, *, key=None, train=False):
            ...  # xs [B, T, E], lengths [B] -> features [B, D] ([B, T, D] per step)

`hparams` holds the declared dynamic hyperparameters as traced float32 scalars (each
config's own value inside a population, so changing one never recompiles); `key` is a
PRNG key when `train`, else None. jaxtune keeps the embedding (pretrained vectors,
frozen or fine-tuned), applies its `dropout` to the features and maps them to logits.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from jaxtune.space import (
    ALIASES,
    DYNAMIC,
    ENCODER_NAMES,
    STATIC,
    Architecture,
    HParam,
    register_architecture,
    user_architecture,
)
from jaxtune.values import SpaceError, boolean, floating, integer, integer_tuple, text

DYNAMIC_ATTRIBUTE = "dynamic_hparams"
# Directories a module path is looked up in besides sys.path: the working directory, and
# those a sweep directory recorded (run.json), so resume and final find the same code.
SEARCH_PATH: list[str] = []
_LIMIT = 1 << 31


class ContractError(ValueError):
    """A user module that does not keep the contract; one line naming it and what is wrong."""


def import_architecture(path: str) -> Architecture:
    """The architecture of 'package.module:Class', imported and registered once."""
    known = user_architecture(path)
    if known is not None:
        return known
    module_name, _, class_name = path.partition(":")
    if not module_name or not class_name:
        raise SpaceError(f"expected 'package.module:Class', found {path!r}")
    roots = [os.getcwd(), *SEARCH_PATH]
    added = [root for root in roots if root not in sys.path]
    sys.path[:0] = added
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # the user's code: any error it raises on import
        raise SpaceError(
            f"{path}: cannot import {module_name} ({type(error).__name__}: {_first_line(error)}); "
            "the module is looked up on the Python path and in the working directory"
        ) from None
    finally:
        for root in added:
            sys.path.remove(root)
    found = module
    for part in class_name.split("."):
        found = getattr(found, part, None)
        if found is None:
            raise SpaceError(f"{path}: module {module_name} has no {class_name}")
    try:
        return register(found, path)
    except ContractError as error:
        raise SpaceError(str(error)) from None


def register(module: Any, path: str | None = None, *, alias: str | None = None) -> Architecture:
    """Register a flax.linen.Module subclass as an architecture (`path` default: its
    'module:qualname'); ContractError where its fields or declared hparams cannot be swept."""
    import flax.linen as nn

    path = path or f"{module.__module__}:{module.__qualname__}"
    if not (isinstance(module, type) and issubclass(module, nn.Module)):
        raise ContractError(f"{path}: expected a flax.linen.Module subclass, found {module!r}")
    static = {}
    for field in dataclasses.fields(module):
        if field.name in ("parent", "name") or not field.init:
            continue
        static[field.name] = _static_hparam(path, field, module)
    dynamic = {}
    declared = getattr(module, DYNAMIC_ATTRIBUTE, {}) or {}
    if not isinstance(declared, Mapping):
        raise ContractError(
            f"{path}: {DYNAMIC_ATTRIBUTE} must map each traced hyperparameter's name to its "
            f"default (or to (default, low, high)), found {declared!r}"
        )
    for name, value in declared.items():
        dynamic[name] = _dynamic_hparam(path, name, value, static)
    architecture = Architecture(path, module, static, dynamic)
    register_architecture(architecture, alias)
    return architecture


def _static_hparam(path: str, field: dataclasses.Field, module: type) -> HParam:
    name = field.name
    if name in ALIASES and ALIASES[name] not in ENCODER_NAMES:
        raise ContractError(
            f"{path}: field {name!r} is jaxtune's own hyperparameter {ALIASES[name]!r}; rename "
            f"it (a field may share only the built-in encoders' names: {', '.join(ENCODER_NAMES)})"
        )
    if field.default is not dataclasses.MISSING:
        default = field.default
    elif field.default_factory is not dataclasses.MISSING:
        default = field.default_factory()
    else:
        raise ContractError(
            f"{path}: field {name!r} has no default; give every field one (the value of a "
            "config that does not set it)"
        )
    parse = _parser(default)
    if parse is None:
        raise ContractError(
            f"{path}: field {name!r} has default {default!r}; a swept field takes an int, "
            "float, bool, str or tuple of ints (make other settings class attributes)"
        )
    return HParam(name, STATIC, default, parse, f"{module.__name__}.{name}", applies_to=(path,))


def _parser(default: Any):
    if isinstance(default, bool):
        return boolean()
    if isinstance(default, int):
        return integer(-_LIMIT, _LIMIT)
    if isinstance(default, float):
        return floating(-float("inf"), float("inf"))
    if isinstance(default, str):
        return text()
    if isinstance(default, tuple) and all(
        isinstance(v, int) and not isinstance(v, bool) for v in default
    ):
        return integer_tuple(-_LIMIT, _LIMIT, 64)
    return None


def _dynamic_hparam(path: str, name: Any, value: Any, static: Mapping[str, HParam]) -> HParam:
    where = f"{path}: {DYNAMIC_ATTRIBUTE}[{name!r}]"
    if not isinstance(name, str) or not name.isidentifier():
        raise ContractError(f"{where}: expected a name (an identifier)")
    if name in ALIASES or name in static:
        clash = "a field of the module" if name in static else f"jaxtune's {ALIASES[name]!r}"
        raise ContractError(f"{where}: the name is {clash}; give the traced one its own name")
    low, high = -float("inf"), float("inf")
    default = value
    if isinstance(value, tuple | list):
        if len(value) != 3:
            raise ContractError(
                f"{where}: expected a default or (default, low, high), found {value!r}"
            )
        default, low, high = value
    if not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in (default, low, high)
    ):
        raise ContractError(
            f"{where}: expected numbers (a traced value is a float), found {value!r}"
        )
    parse = floating(float(low), float(high))
    try:
        default = parse(default)
    except SpaceError as error:
        raise ContractError(f"{where}: default: {error}") from None
    return HParam(name, DYNAMIC, default, parse, f"traced, {name}", applies_to=(path,))


def build_module(architecture: Architecture, config: Mapping[str, Any]):
    """The user's module with a config's static values."""

    def value(v):  # a JSON record's list is the tuple the field was given as
        return tuple(v) if isinstance(v, list) else v

    return architecture.module(**{name: value(config[name]) for name in architecture.static})


def check_contract(
    architecture: Architecture, config: Mapping[str, Any], *, per_step: bool = False
) -> None:
    """Trace the module on a small batch (jax.eval_shape: nothing is computed) with its
    dynamic hparams traced, in training and in evaluation; ContractError names what breaks."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    path = architecture.path
    try:
        module = build_module(architecture, config)
    except Exception as error:
        raise ContractError(
            f"{path}: cannot be built with {_static_of(architecture, config)}: "
            f"{type(error).__name__}: {_first_line(error)}"
        ) from None
    batch, steps = 2, 8
    xs = jax.ShapeDtypeStruct((batch, steps, int(config["embedding_dim"])), jnp.float32)
    lengths = jax.ShapeDtypeStruct((batch,), jnp.int32)
    names = tuple(architecture.dynamic)
    try:
        inspect.signature(module.__call__).bind(None, None, {}, key=None, train=False)
    except TypeError as error:
        raise ContractError(
            f"{path}: expected __call__(self, xs, lengths, hparams, *, key=None, train=False): "
            f"{error}"
        ) from None

    def outputs(traced: Iterable[str]):
        traced = tuple(traced)
        # numpy values: concrete even inside the trace (a jnp op on a constant is traced)
        fixed = {n: np.float32(config[n]) for n in names if n not in traced}

        def run(xs, lengths, values, key):
            hparams = {**fixed, **dict(zip(traced, values, strict=True))}
            init_key, train_key = jax.random.split(key)
            variables = module.init(init_key, xs, lengths, hparams, key=train_key, train=True)
            trained = module.apply(variables, xs, lengths, hparams, key=train_key, train=True)
            evaluated = module.apply(variables, xs, lengths, hparams, key=None, train=False)
            return trained, evaluated

        values = tuple(jax.ShapeDtypeStruct((), jnp.float32) for _ in traced)
        return jax.eval_shape(run, xs, lengths, values, jax.random.key(0))

    try:
        trained, evaluated = outputs(names)
    except jax.errors.ConcretizationTypeError:
        for name in names:  # which one: traced alone
            try:
                outputs((name,))
            except jax.errors.ConcretizationTypeError:
                raise ContractError(
                    f"{path}: the traced hyperparameter {name!r} is used as a Python value "
                    "(float(), `if`, or a flax setting); use it in array operations, e.g. "
                    "jaxtune.models.dropout.dropout(key, rate, x)"
                ) from None
        raise ContractError(
            f"{path}: a value is used as a Python number where it is traced (the inputs or "
            "the key); use array operations"
        ) from None
    except KeyError as error:
        raise ContractError(
            f"{path}: reads hparams[{error.args[0]!r}], which it does not declare; "
            f"declared in {DYNAMIC_ATTRIBUTE}: {', '.join(names) or 'none'}"
        ) from None
    except Exception as error:
        raise ContractError(
            f"{path}: fails on a [{batch}, {steps}, E] batch: {type(error).__name__}: "
            f"{_first_line(error)}"
        ) from None
    want = f"[B, T, D] (B={batch}, T={steps})" if per_step else f"[B, D] (B={batch})"
    for mode, out in (("training", trained), ("evaluation", evaluated)):
        shape = getattr(out, "shape", None)
        good = shape is not None and shape[:1] == (batch,)
        good = good and (
            shape[1:2] == (steps,) and len(shape) == 3 if per_step else len(shape) == 2
        )
        if not good or not jnp.issubdtype(out.dtype, jnp.floating):
            found = f"shape {tuple(shape)} {out.dtype}" if shape is not None else repr(out)
            raise ContractError(
                f"{path}: in {mode} returned {found}; expected float features {want}"
            )


def _static_of(architecture: Architecture, config: Mapping[str, Any]) -> str:
    return ", ".join(f"{n}={config[n]!r}" for n in architecture.static) or "its defaults"


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def module_root(path: str) -> str | None:
    """The directory a registered architecture's module was imported from (the one its
    top-level package sits in), None for a module that has no file (a notebook's)."""
    module_name = path.partition(":")[0]
    module = sys.modules.get(module_name)
    file = getattr(module, "__file__", None)
    if file is None:
        return None
    folder = Path(file).resolve().parent
    depth = module_name.count(".") + (Path(file).name == "__init__.py")
    return str(folder.parents[depth - 1] if depth else folder)


def add_search_path(roots: Iterable[str | Path]) -> None:
    """Directories to look user modules up in (a sweep directory's recorded ones)."""
    for root in roots:
        root = str(Path(root).resolve())
        if root not in SEARCH_PATH:
            SEARCH_PATH.append(root)
