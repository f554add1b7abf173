"""models/classifier.py: parameter collections, the embed/classify split the train step
uses, output dropout, and the config -> model mapping. (Padding invariance: test_cells.py;
stacked layer shapes: test_layer_sizes.py.)"""

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxtune.models import EMBEDDING, SequenceClassifier, build_classifier
from jaxtune.models.cnn import CNNEncoder
from jaxtune.models.dropout import dropout
from jaxtune.models.rnn import RNNEncoder
from jaxtune.space import complete_config

V, C, B, T = 12, 3, 4, 6
TOKENS = np.array(
    [[3, 5, 7, 2, 0, 0], [4, 4, 9, 11, 8, 1], [6, 2, 0, 0, 0, 0], [1, 3, 5, 7, 9, 0]], np.int32
)
LENGTHS = np.array([4, 6, 2, 5], np.int32)
CNN = complete_config(
    {"architecture": "cnn", "embedding_dim": 5, "num_filters": 3, "filter_sizes": (2, 3)}
)
CNN_MODEL = build_classifier(CNN, V, C)


def shapes(config):
    """Parameter and logit shapes, traced without running anything."""
    model = build_classifier(complete_config(config), V, C)
    tokens, lengths = jnp.zeros((B, T), jnp.int32), jnp.ones((B,), jnp.int32)
    variables = jax.eval_shape(model.init, jax.random.key(0), tokens, lengths)
    logits = jax.eval_shape(model.apply, variables, tokens, lengths)
    return variables["params"], logits


@pytest.mark.parametrize(
    "config,features",
    [
        ({"architecture": "gru", "hidden_size": 7}, 7),
        ({"architecture": "lstm", "hidden_size": 7, "bidirectional": True}, 2 * 7),
        ({"architecture": "rnn", "hidden_size": (7, 5)}, 5),  # the top layer's size
        ({"architecture": "cnn", "num_filters": 4, "filter_sizes": (2, 3, 4)}, 3 * 4),
    ],
    ids=["gru", "lstm-bidi", "rnn-stacked", "cnn"],
)
def test_embedding_encoder_and_head_collections_and_logit_shape(config, features):
    params, logits = shapes({**config, "embedding_dim": 5})
    assert set(params) == {EMBEDDING, "encoder", "head"}
    assert params[EMBEDDING]["embedding"].shape == (V, 5)
    assert params["head"]["kernel"].shape == (features, C)
    assert params["head"]["bias"].shape == (C,)
    assert logits.shape == (B, C) and logits.dtype == jnp.float32


@functools.cache
def cnn_variables():
    """CNN_MODEL's parameters, drawn with numpy in the layout its init makes."""
    rng = np.random.default_rng(0)
    embed, filters = CNN["embedding_dim"], CNN["num_filters"]
    encoder = {}
    for width in CNN["filter_sizes"]:
        encoder[f"conv{width}_kernel"] = rng.normal(size=(width * embed, filters))
        encoder[f"conv{width}_bias"] = rng.normal(size=(filters,))
    features = len(CNN["filter_sizes"]) * filters
    params = {
        EMBEDDING: {"embedding": rng.normal(size=(V, embed))},
        "encoder": encoder,
        "head": {"kernel": rng.normal(size=(features, C)), "bias": rng.normal(size=(C,))},
    }
    return {"params": jax.tree.map(lambda x: x.astype(np.float32), params)}


@jax.jit
def three_ways(variables, tokens, lengths):
    """(logits of __call__, embed's output, classify's logits without the table)."""
    xs = CNN_MODEL.apply(variables, tokens, method="embed")
    rest = {name: value for name, value in variables["params"].items() if name != EMBEDDING}
    logits = CNN_MODEL.apply({"params": rest}, xs, lengths, method="classify")
    return CNN_MODEL.apply(variables, tokens, lengths), xs, logits


def test_call_is_embed_then_classify_and_classify_needs_no_table():
    """The train step looks tokens up itself and runs classify on the rows (step.py)."""
    called, xs, classified = three_ways(cnn_variables(), TOKENS, LENGTHS)
    table = cnn_variables()["params"][EMBEDDING]["embedding"]
    np.testing.assert_array_equal(xs, table[TOKENS])  # [B, T, E]: a row lookup
    np.testing.assert_allclose(classified, called, rtol=1e-6, atol=1e-7)


def encode(model, tokens, lengths):
    """The encoder's features, evaluated: the CNN encoder itself never drops anything."""
    off = {"dropout_rate": 0.0, "recurrent_dropout_rate": 0.0, "key": None, "train": False}
    return model.encoder(model.embed(tokens), lengths, **off)


@jax.jit
def train_and_by_hand(variables, rate, key):
    """(training logits, the head applied to the features after dropout with the second
    half of the split key, evaluation logits)."""
    head = variables["params"]["head"]
    features = CNN_MODEL.apply(variables, TOKENS, LENGTHS, method=encode)  # [B, D]
    _, output_key = jax.random.split(key)
    by_hand = dropout(output_key, rate, features) @ head["kernel"] + head["bias"][None, :]
    evaluation = features @ head["kernel"] + head["bias"][None, :]
    trained = CNN_MODEL.apply(variables, TOKENS, LENGTHS, dropout_rate=rate, key=key, train=True)
    return trained, by_hand, evaluation


def test_output_dropout_drops_encoder_features_with_its_own_key():
    key = jax.random.key(5)
    trained, by_hand, evaluation = train_and_by_hand(cnn_variables(), jnp.float32(0.5), key)
    np.testing.assert_allclose(trained, by_hand, rtol=1e-5, atol=1e-6)
    assert not np.allclose(trained, evaluation)  # the draw dropped something
    # Rate zero trains exactly as it evaluates (same compiled program: the rate is traced).
    trained, _, evaluation = train_and_by_hand(cnn_variables(), jnp.float32(0.0), key)
    np.testing.assert_allclose(trained, evaluation, rtol=1e-6, atol=1e-7)


def test_a_recurrent_config_builds_its_encoder_from_the_static_hyperparameters():
    values = {
        "architecture": "rnn",
        "hidden_size": [8, 4],  # a list, as a JSON record gives it back
        "bidirectional": True,
        "rnn_activation": "relu",
        "embedding_dim": 6,
    }
    model = build_classifier(values | {"num_layers": 2}, V, C, fused_backward=False, scan_unroll=3)
    assert isinstance(model, SequenceClassifier)
    assert (model.vocab_size, model.embedding_dim, model.num_classes) == (V, 6, C)
    assert model.encoder == RNNEncoder(
        cell="rnn",
        hidden_size=(8, 4),
        num_layers=2,
        bidirectional=True,
        activation="relu",
        fused_backward=False,
        unroll=3,
    )
    # The list became a tuple: the model hashes (it is a static argument of jitted code)
    # and equals the model of the same config given with a tuple.
    from_tuple = build_classifier(
        complete_config({**values, "hidden_size": (8, 4)}),
        V,
        C,
        fused_backward=False,
        scan_unroll=3,
    )
    assert hash(model) == hash(from_tuple) and model == from_tuple


def test_a_cnn_config_builds_a_cnn_encoder_of_its_filters():
    assert CNN_MODEL.encoder == CNNEncoder(filter_sizes=(2, 3), num_filters=3)
    assert isinstance(CNN_MODEL.encoder, nn.Module)
    assert CNN_MODEL.embedding_dim == 5 and CNN_MODEL.num_classes == C
