"""Edit distances of decoded sequences against their targets, on the host (rapidfuzz).

The device decodes (ctc.greedy_decode); the Levenshtein distances, which a vmapped
program would compute as a T x S dynamic program per sequence, come from rapidfuzz's
paired `cpdist` over every config's decodings of a block at once.
"""

from __future__ import annotations

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein


def edit_sums(decoded, decoded_lengths, labels, label_lengths, index, weights, wanted=None):
    """Each config's summed edit distance over the real examples of a block.

    decoded: [K, S, B, T] int32 and decoded_lengths [K, S, B] (ctc.greedy_decode of each
    batch); labels: [N, L] int32 and label_lengths [N], the split's targets; index, weights:
    [S, B], the block's examples (weight 0: a padding slot); wanted: None or [K] bool, the
    configs whose sums are used (the others get 0).

    Returns: [K] float32.
    """
    decoded, decoded_lengths = np.asarray(decoded), np.asarray(decoded_lengths)
    real = np.asarray(weights) > 0  # [S, B]
    examples = np.asarray(index)[real]  # [R]
    truths = [labels[i, : label_lengths[i]].tolist() for i in examples]
    num_configs = decoded.shape[0]
    configs = np.arange(num_configs) if wanted is None else np.flatnonzero(wanted)  # [W]
    sums = np.zeros(num_configs, np.float32)
    if not len(examples) or not len(configs):
        return sums
    outputs = decoded[configs][:, real]  # [W, R, T]
    lengths = decoded_lengths[configs][:, real]  # [W, R]
    guesses = [
        row[:n].tolist()
        for row, n in zip(outputs.reshape(-1, outputs.shape[-1]), lengths.reshape(-1), strict=True)
    ]
    # Every wanted config's decodings against the targets in one paired call.
    distances = process.cpdist(
        guesses, truths * len(configs), scorer=Levenshtein.distance, workers=1
    )
    sums[configs] = np.asarray(distances, np.float32).reshape(len(configs), -1).sum(axis=1)
    return sums
