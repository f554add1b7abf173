"""The spec's `model:` section (fixed hyperparameters) and `configs:` (named configs)."""

from __future__ import annotations

from typing import Any

from jaxtune.spec.errors import Reader, key_name


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
