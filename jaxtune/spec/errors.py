"""Spec errors as one line, and the reader that names the file and key path in each."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jaxtune.space import canonical_name, hparam
from jaxtune.values import SpaceError


class SpecError(ValueError):
    """A spec problem, as one line the user can act on."""


def key_name(name: Any) -> str:
    """A user's key as it appears in a key path; odd ones (spaces, newlines, non-strings) quoted."""
    if isinstance(name, str) and name and name.isprintable() and " " not in name:
        return name
    return repr(name)


class Reader:
    """Validation helpers that know the file name for their messages."""

    def __init__(self, path: str):
        self.path = path
        # the user modules the spec names (models/user.py): their hyperparameters are known
        self.modules: tuple[str, ...] = ()

    key = staticmethod(key_name)

    def error(self, key: str, message: str) -> SpecError:
        return SpecError(f"{self.path}: {key}: {message}" if key else f"{self.path}: {message}")

    def mapping(self, value: Any, key: str, allowed: tuple[str, ...] | None) -> dict:
        """A mapping whose keys are all in `allowed` (any keys when `allowed` is None)."""
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise self.error(key, f"expected a mapping, found {value!r}")
        for name in value if allowed is not None else ():
            if name not in allowed:
                raise self.error(
                    f"{key}.{key_name(name)}" if key else key_name(name),
                    f"unknown key; allowed: {', '.join(allowed)}",
                )
        return dict(value)

    def parse(self, parse, value: Any, key: str):
        try:
            return parse(value)
        except SpaceError as error:
            raise self.error(key, str(error)) from None

    def choice(self, value: Any, key: str, options: tuple[str, ...]) -> str:
        if value not in options:
            raise self.error(key, f"expected one of {', '.join(options)}, found {value!r}")
        return value

    def hparam(self, name: Any, value: Any, key: str):
        try:
            canonical = canonical_name(str(name), self.modules)
        except SpaceError as error:
            raise self.error(key, str(error)) from None
        return canonical, self.parse(hparam(canonical).parse, value, key)
