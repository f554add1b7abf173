"""memory.py: byte estimates that follow the parameter count, the optimizer's state and the
activations, and how a population adds them up. (Stacked layers: test_layer_sizes.py; lazy
row views: test_lazy_embedding.py; the merged optimizer state: test_optim.py.)"""

import pytest

from jaxtune.memory import FLOAT_BYTES, MemoryEstimate, activation_floats, estimate_memory
from jaxtune.space import complete_config

V, C, T = 40, 3, 6
GRU = {"architecture": "gru", "hidden_size": 6, "embedding_dim": 4, "batch_size": 8}
CNN = {
    "architecture": "cnn",
    "num_filters": 5,
    "filter_sizes": (2, 3),
    "embedding_dim": 4,
    "batch_size": 8,
}


def estimate(values, vocab_size=V, **options):
    return estimate_memory(
        complete_config(values), vocab_size=vocab_size, num_classes=C, seq_len=T, **options
    )


def test_population_bytes_hold_every_configs_state_and_one_chunk_of_steps():
    one = MemoryEstimate(
        params=100,
        optimizer_state=200,
        best_params=100,
        step_transient=50,
        activations=30,
        row_views=7,
    )
    assert one.persistent == 100 + 200 + 100
    assert one.per_step == 50 + 30 + 7
    assert one.total == one.persistent + one.per_step
    assert one.population_bytes(6) == 6 * one.total  # all at once
    assert one.population_bytes(6, chunk=2) == 6 * one.persistent + 2 * one.per_step
    assert one.population_bytes(3, chunk=8) == 3 * one.total  # a chunk wider than K


def test_cnn_params_are_four_bytes_per_parameter_counted_by_hand():
    filters, embed = CNN["num_filters"], CNN["embedding_dim"]
    count = V * embed  # the table
    count += sum(width * embed * filters + filters for width in CNN["filter_sizes"])
    count += len(CNN["filter_sizes"]) * filters * C + C  # the head
    got = estimate(CNN)
    assert got.params == FLOAT_BYTES * count
    assert got.best_params == got.params  # restore-best keeps one more copy
    assert got.step_transient == 2 * got.params  # the dense gradient and the update


@pytest.mark.parametrize(
    "optimizer,copies",
    # Adam and AdamW keep two moments per parameter, RMSprop its square average and
    # momentum trace (always present), SGD its momentum trace.
    [("adam", 2), ("adamw", 2), ("rmsprop", 2), ("sgd", 1)],
)
def test_every_byte_estimate_grows_as_the_parameter_count_implies(optimizer, copies):
    """Ten more vocabulary rows add 10 * E floats to the params, to each copy the
    optimizer keeps of them, to restore-best's copy and to the gradient and update."""
    small = estimate({**GRU, "optimizer": optimizer})
    large = estimate({**GRU, "optimizer": optimizer}, vocab_size=V + 10)
    added = FLOAT_BYTES * 10 * GRU["embedding_dim"]
    assert large.params - small.params == added
    assert large.optimizer_state - small.optimizer_state == copies * added
    assert large.best_params - small.best_params == added
    assert large.step_transient - small.step_transient == 2 * added
    assert large.activations == small.activations  # no change per token


@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bidi"])
def test_recurrent_activations_by_hand_and_proportional_to_tokens(bidirectional):
    config = complete_config({**GRU, "bidirectional": bidirectional})
    batch, embed, hidden = GRU["batch_size"], GRU["embedding_dim"], GRU["hidden_size"]
    tokens = batch * T
    directions = 2 if bidirectional else 1
    # Embedded inputs and their dropout mask; per direction and token the input slice,
    # 3 gates' projection and activations (2 * 3H), the carry, output and mask (3H).
    expected = 2 * tokens * embed + directions * tokens * (2 * 3 * hidden + 3 * hidden + embed)
    assert activation_floats(config, T) == expected
    assert activation_floats(config, 2 * T) == 2 * expected
    doubled = complete_config({**config, "batch_size": 2 * batch})
    assert activation_floats(doubled, T) == 2 * expected
    assert estimate(config).activations == FLOAT_BYTES * expected


def test_cnn_activations_count_each_widths_windows():
    batch, embed, filters = CNN["batch_size"], CNN["embedding_dim"], CNN["num_filters"]
    expected = 2 * batch * T * embed
    for width in CNN["filter_sizes"]:
        windows = batch * (T - width + 1)
        expected += windows * (width * embed + 2 * filters)  # unfolded inputs, features
    assert activation_floats(complete_config(CNN), T) == expected
    # A sequence shorter than a window still has one window per example.
    assert activation_floats(complete_config(CNN), 1) == 2 * batch * embed + sum(
        batch * (width * embed + 2 * filters) for width in CNN["filter_sizes"]
    )
