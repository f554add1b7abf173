"""bench/torch_baseline.py: the PyTorch classifier of a config, one epoch, one measurement.

torch is an optional extra; without it this module is skipped.
"""

import pytest

torch = pytest.importorskip("torch")
from jaxtune.bench import torch_baseline  # noqa: E402
from jaxtune.bench.torch_baseline import build_torch_model, measure_torch  # noqa: E402
from jaxtune.space import complete_config  # noqa: E402

B, T, V, C = 4, 8, 50, 3
CASE = {
    "architecture": "gru",
    "batch_size": B,
    "hidden_size": 8,
    "embedding_dim": 6,
    "seq_len": T,
    "vocab_size": V,
    "num_classes": C,
}


@pytest.fixture(autouse=True)
def keep_torch_threads():
    threads = torch.get_num_threads()  # measure_torch sets it for its process
    yield
    torch.set_num_threads(threads)


def config_of(**values):
    return complete_config({"hidden_size": 8, "embedding_dim": 6, "dropout": 0.0, **values})


def tokens_and_labels(seed=0):
    generator = torch.Generator().manual_seed(seed)
    tokens = torch.randint(2, V, (B, T), generator=generator)
    labels = torch.randint(0, C, (B,), generator=generator)
    return tokens, labels


@pytest.mark.parametrize("architecture, kind", [("rnn", "RNN"), ("gru", "GRU"), ("lstm", "LSTM")])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_a_recurrent_model_reads_the_configs_cell_layers_and_directions(
    architecture, kind, bidirectional
):
    config = config_of(architecture=architecture, num_layers=2, bidirectional=bidirectional)
    model = build_torch_model(config, V, C).eval()
    assert type(model.rnn) is getattr(torch.nn, kind)
    assert model.rnn.num_layers == 2 and model.rnn.bidirectional == bidirectional
    assert model.head.in_features == 8 * (2 if bidirectional else 1)
    assert model.embedding.num_embeddings == V and model.embedding.embedding_dim == 6
    assert model(tokens_and_labels()[0]).shape == (B, C)


def test_an_rnn_uses_the_configs_activation():
    model = build_torch_model(config_of(architecture="rnn", rnn_activation="relu"), V, C)
    assert model.rnn.nonlinearity == "relu"


def test_a_cnn_has_one_convolution_per_filter_size():
    config = config_of(architecture="cnn", num_filters=5, filter_sizes=[2, 3])
    model = build_torch_model(config, V, C).eval()
    assert [conv.kernel_size for conv in model.convs] == [(2,), (3,)]
    assert all(conv.out_channels == 5 and conv.in_channels == 6 for conv in model.convs)
    assert model.head.in_features == 5 * 2
    assert model(tokens_and_labels()[0]).shape == (B, C)


def test_dropout_is_the_configs():
    model = build_torch_model(config_of(dropout=0.3), V, C)
    assert model.dropout.p == 0.3


def test_an_epoch_steps_on_each_batch_and_returns_the_last_loss():
    torch.manual_seed(0)
    model = build_torch_model(config_of(architecture="gru"), V, C)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    tokens, labels = tokens_and_labels()
    with torch.no_grad():
        expected = torch.nn.functional.cross_entropy(model(tokens), labels).item()
    before = [p.detach().clone() for p in model.parameters()]
    loss = torch_baseline._epoch(model, optimizer, [(tokens, labels)])
    assert loss == pytest.approx(expected, rel=1e-6)  # dropout 0: the same forward pass
    assert optimizer.state[next(model.parameters())]["step"].item() == 1
    assert any(not torch.equal(p, q) for p, q in zip(before, model.parameters(), strict=True))


def test_the_measurement_is_per_config_step_on_the_cpu():
    result = measure_torch(CASE, configs_count=2, steps=2, repeats=1, target_seconds=0.0)
    assert set(result) == {
        "configs",
        "seconds_per_config_step",
        "config_steps_per_s",
        "threads",
        "torch_version",
        "torch_device",
        "peak_rss_bytes",
    }
    assert result["configs"] == 2
    assert result["config_steps_per_s"] == pytest.approx(1 / result["seconds_per_config_step"])
    assert result["torch_device"] == "cpu"
    assert result["torch_version"] == torch.__version__
    assert result["threads"] == torch.get_num_threads() >= 1
    assert result["peak_rss_bytes"] > 0
