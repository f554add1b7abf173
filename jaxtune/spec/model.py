"""The spec's `model:` section (fixed hyperparameters) and `configs:` (named configs)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jaxtune.space import ALIASES, HPARAMS, USER_ALIASES, complete_config, user_architecture
from jaxtune.spec.errors import Reader, key_name


def register_architectures(read: Reader, top: Mapping[str, Any]) -> list[str]:
    """Import the user modules the spec names as architectures (model, parameters,
    configs) before any section is read, so that their fields and traced hparams are
    known hyperparameters wherever the spec sets them."""

    def named(key: Any) -> bool:
        return ALIASES.get(str(key)) == "architecture"

    found = []  # (key path, value)
    for section in ("model", "parameters"):
        entries = top.get(section)
        for key, value in entries.items() if isinstance(entries, Mapping) else ():
            where = f"{section}.{key_name(key)}"
            if not named(key):
                continue
            if isinstance(value, Mapping):
                found.append((f"{where}.value", value.get("value")))
                values = value.get("values")
                for i, v in enumerate(values if isinstance(values, list) else ()):
                    found.append((f"{where}.values[{i}]", v))
            else:
                found.append((where, value))
    configs = top.get("configs")
    for name, values in configs.items() if isinstance(configs, Mapping) else ():
        for key, value in values.items() if isinstance(values, Mapping) else ():
            if named(key):
                found.append((f"configs.{key_name(name)}.{key_name(key)}", value))
    parse = HPARAMS["architecture"].parse
    paths = [read.parse(parse, v, w) for w, v in found if _names_module(v)]
    return list(dict.fromkeys(paths))


def _names_module(value: Any) -> bool:
    """A 'package.module:Class' path, or the class name of a module given in Python."""
    return isinstance(value, str) and (":" in value or value in USER_ALIASES)


def check_contracts(
    read: Reader, paths: list[str], fixed: Mapping[str, Any], per_step: bool
) -> None:
    """Each user module traced once with the spec's fixed values (else its defaults),
    before anything trains: a broken contract is one line naming the module."""
    from jaxtune.models.user import ContractError, check_contract

    for path in paths:
        config = complete_config({**fixed, "architecture": path})
        try:
            check_contract(user_architecture(path), config, per_step=per_step)
        except ContractError as error:
            raise read.error("architecture", str(error)) from None


def parse_model(read: Reader, section: Any) -> dict[str, Any]:
    """Canonical hyperparameter name -> value; an alias and its name set twice is an error."""
    fixed = {}
    model = read.mapping(section, "model", None)
    model_keys = {}  # canonical name -> the key that set it (`units` and `hidden_size` clash)
    for key, value in model.items():
        canonical, parsed = read.hparam(key, value, f"model.{key_name(key)}")
        if canonical in model_keys:
            raise read.error(
                f"model.{key_name(key)}",
                f"{canonical!r} is already set by model.{key_name(model_keys[canonical])}",
            )
        model_keys[canonical] = key
        fixed[canonical] = parsed
    return fixed


def parse_named_configs(read: Reader, section: Any) -> dict[str, dict[str, Any]]:
    """`configs: {NAME: {hparam: value, ...}}`: each named config's hyperparameters."""
    section = read.mapping(section, "configs", None)
    named = {}
    for name, values in section.items():
        where = f"configs.{key_name(name)}"
        if not isinstance(name, str) or not name.strip() or not name.isprintable():
            raise read.error(where, f"expected a config name, found {name!r}")
        values = read.mapping(values, where, None)
        named[name] = {}
        for key, value in values.items():
            canonical, parsed = read.hparam(key, value, f"{where}.{key_name(key)}")
            if canonical in named[name]:
                raise read.error(f"{where}.{key_name(key)}", f"{canonical!r} is set twice")
            named[name][canonical] = parsed
    return named
