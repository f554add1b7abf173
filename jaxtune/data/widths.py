"""The token width each config reads: its max_length hyperparameter against the data's width.

The data is encoded once, at data.max_length tokens per text (the width T is that or
the longest text, whichever is shorter); a config of max_length L reads each example's
first min(L, T) tokens, as Keras' pad_sequences(truncating="post") keeps them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def config_width(config: Mapping[str, Any], data_width: int) -> int:
    """Tokens a config reads: its max_length, at most the data's width T (null: all T)."""
    return min(config.get("max_length") or data_width, data_width)


def clip_buckets(buckets: tuple[int, ...] | None, width: int) -> tuple[int, ...] | None:
    """Bucket lengths for sequences truncated to `width`: those below it, then `width`.

    (4, 6, 10) at width 5 is (4, 5): the examples of buckets 6 and 10 are cut to 5 tokens.
    """
    if buckets is None:
        return None
    return (*(b for b in buckets if b < width), width)
