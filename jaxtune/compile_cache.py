"""Compiled programs kept on disk across sweeps (jax's persistent compilation cache).

On a CPU a population's programs take minutes to compile: one training program per
length bucket, each holding every variant of a merged program (the head to head's LSTM
population: about 150 core-seconds). A later sweep that runs the same programs (the
same architecture, static hyperparameters, variants, population width, length buckets,
vocabulary and machine) loads them from the cache in a fraction of a second each.

`jaxtune sweep`, `resume` and `refine` keep the cache in `~/.cache/jaxtune/xla` ($XDG_CACHE_HOME
respected); `--compile-cache DIR` or JAXTUNE_COMPILE_CACHE=DIR puts it elsewhere, `off`
keeps nothing. A cache set through jax's own JAX_COMPILATION_CACHE_DIR is used as it is.
Only programs that took at least MIN_COMPILE_SECONDS are written (the many small ones
compile faster than a file is read; jax's JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS
wins), and the cache is trimmed to MAX_BYTES, the least
recently used entries first. What a sweep found there goes into sweep.json.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

ENV = "JAXTUNE_COMPILE_CACHE"
OFF = ("off", "none", "false", "0", "")
MIN_COMPILE_SECONDS = 1.0
MAX_BYTES = 4 << 30

HIT_EVENT = "/jax/compilation_cache/cache_hits"
WRITE_EVENT = "/jax/compilation_cache/cache_misses"  # jax records it as it writes an entry
SAVED_EVENT = "/jax/compilation_cache/compile_time_saved_sec"


def default_directory() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "jaxtune" / "xla"


def cache_directory(value: str | None) -> Path | None:
    """Where --compile-cache / JAXTUNE_COMPILE_CACHE (`value`; None: not given) keeps the
    cache; None when it says off."""
    if value is None:
        return default_directory()
    if value.strip().lower() in OFF:
        return None
    return Path(value).expanduser()


def use_compile_cache(directory: Path | None) -> Path | None:
    """Turn the cache on in `directory` (call before the first compile); returns the
    directory jax caches in (None: none). A cache already set in jax's config (jax's own
    JAX_COMPILATION_CACHE_DIR) is kept. OSError when the directory cannot be made."""
    import jax

    current = jax.config.jax_compilation_cache_dir
    if current:
        return Path(current)
    if directory is None:
        return None
    directory.mkdir(parents=True, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", str(directory))
    if "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS" not in os.environ:  # else jax's own
        jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_SECONDS)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    # A size bound also turns on the cache's file lock: two sweeps never read a
    # half-written entry.
    jax.config.update("jax_compilation_cache_max_size", MAX_BYTES)
    return directory


class CacheUse:
    """Counts, while open, the programs this process loaded from the cache, those it wrote
    there, and the compile seconds the loaded ones saved (jax.monitoring events)."""

    def __init__(self):
        self.loaded = 0
        self.written = 0
        self.seconds_saved = 0.0

    def _event(self, event: str, **kwargs) -> None:
        if event == HIT_EVENT:
            self.loaded += 1
        elif event == WRITE_EVENT:
            self.written += 1

    def _duration(self, event: str, seconds: float, **kwargs) -> None:
        if event == SAVED_EVENT:
            self.seconds_saved += seconds

    def __enter__(self) -> CacheUse:
        import jax

        jax.monitoring.register_event_listener(self._event)
        jax.monitoring.register_event_duration_secs_listener(self._duration)
        return self

    def __exit__(self, *exc) -> None:
        import jax

        jax.monitoring.unregister_event_listener(self._event)
        jax.monitoring.unregister_event_duration_listener(self._duration)

    def summary(self) -> dict[str, Any]:
        """What sweep.json records: the cache's directory, programs loaded and written."""
        import jax

        directory = jax.config.jax_compilation_cache_dir
        return {
            "directory": directory or None,
            "loaded": self.loaded,
            "written": self.written,
            "seconds_saved": round(self.seconds_saved, 1),
        }
