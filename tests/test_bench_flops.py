"""FLOP counts against hand counts."""

import pytest

from jaxtune.bench.flops import train_flops_per_step
from jaxtune.space import complete_config


def test_lstm_flops_by_hand():
    config = complete_config(
        {"architecture": "lstm", "batch_size": 64, "hidden_size": 128, "embedding_dim": 100}
    )
    # Per token: 4 gates x (100 + 128) inputs x 128 units x 2 (mul+add) = 233,472 forward.
    per_token = 4 * 128 * (100 + 128) * 2
    forward = per_token * 64 * 64 + 2 * 128 * 6 * 64
    assert train_flops_per_step(config, seq_len=64, num_classes=6) == 3 * forward + 64 * 64 * 100


@pytest.mark.parametrize("cell,gates", [("gru", 3), ("rnn", 1)])
def test_two_layer_bidirectional_flops_by_hand(cell, gates):
    config = complete_config(
        {
            "architecture": cell,
            "batch_size": 2,
            "hidden_size": 3,
            "embedding_dim": 5,
            "num_layers": 2,
            "bidirectional": True,
        }
    )
    tokens = 2 * 7
    layer1 = 2 * (2 * gates * 3 * (5 + 3)) * tokens  # two directions, input 5
    layer2 = 2 * (2 * gates * 3 * (6 + 3)) * tokens  # input is both directions: 6
    head = 2 * 6 * 4 * 2
    assert train_flops_per_step(config, seq_len=7, num_classes=4) == (
        3 * (layer1 + layer2 + head) + tokens * 5
    )


def test_cnn_flops_by_hand():
    config = complete_config(
        {
            "architecture": "cnn",
            "batch_size": 2,
            "embedding_dim": 4,
            "num_filters": 5,
            "filter_sizes": (2, 3),
        }
    )
    windows = 2 * 2 * 4 * 5 * (10 - 2 + 1) * 2 + 2 * 3 * 4 * 5 * (10 - 3 + 1) * 2
    head = 2 * 10 * 3 * 2
    assert train_flops_per_step(config, seq_len=10, num_classes=3) == (
        3 * (windows + head) + 2 * 10 * 4
    )
