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
    sums = np.zeros(num_configs, np.float32)
    for k in range(num_configs):
        if wanted is not None and not wanted[k]:
            continue
        outputs, lengths = decoded[k][real], decoded_lengths[k][real]  # [R, T], [R]
        guesses = [row[:n].tolist() for row, n in zip(outputs, lengths, strict=True)]
        if guesses:
            distances = process.cpdist(guesses, truths, scorer=Levenshtein.distance, workers=1)
            sums[k] = float(np.sum(distances))
    return sums
