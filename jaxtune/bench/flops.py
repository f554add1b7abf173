"""FLOP counts of one training step of one config (forward + backward ~= 3x forward)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jaxtune.models.cells import NUM_GATES
from jaxtune.values import layer_sizes

TRAIN_FACTOR = 3  # backward costs about twice the forward pass


def recurrent_forward_flops_per_token(cell: str, input_size: int, hidden_size: int) -> int:
    """Input projection + recurrent matmul of one layer direction: 2 * G*H * (D + H)."""
    return 2 * NUM_GATES[cell] * hidden_size * (input_size + hidden_size)


def train_flops_per_step(config: Mapping[str, Any], seq_len: int, num_classes: int) -> float:
    """Matmul FLOPs of one optimizer step of one config on a [B, T] batch.

    Counts the recurrent layers (LSTM 3 x 8H(D+H), GRU 3 x 6H(D+H), SimpleRNN 3 x 2H(D+H)
    per token and layer direction, with each layer's own size H and input width D: E for
    the first layer) or the CNN windows, the dense head, and the embedding gradient's
    scatter-add. Elementwise gate math and the optimizer update are not matmul
    work and are left out, as is usual for achieved-FLOP/s figures.
    """
    batch = config["batch_size"]
    embed = config["embedding_dim"]
    tokens = batch * seq_len
    if config["architecture"] == "cnn":
        filters = config["num_filters"]
        forward = sum(
            2 * width * embed * filters * max(seq_len - width + 1, 1) * batch
            for width in config["filter_sizes"]
        )
        features = filters * len(config["filter_sizes"])
    else:
        directions = 2 if config["bidirectional"] else 1
        forward = 0
        input_size = embed
        for hidden in layer_sizes(config["hidden_size"], config["num_layers"]):
            per_token = recurrent_forward_flops_per_token(
                config["architecture"], input_size, hidden
            )
            forward += directions * per_token * tokens
            input_size = hidden * directions
        features = hidden * directions
    forward += 2 * features * num_classes * batch  # dense head
    embedding_gradient = tokens * embed  # scatter-add of [B, T, E] rows
    return float(TRAIN_FACTOR * forward + embedding_gradient)
