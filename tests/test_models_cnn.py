"""models/cnn.py: windows, convolution, ReLU and the masked max over time against numpy."""

import functools

import jax
import numpy as np
import pytest

from jaxtune.models.cnn import CNNEncoder, unfold_windows

B, E, F = 3, 4, 5
FILTER_SIZES = (2, 3)
ENCODER = CNNEncoder(FILTER_SIZES, F)
OFF = {"dropout_rate": 0.0, "recurrent_dropout_rate": 0.0, "key": None, "train": False}


@functools.cache
def variables():
    xs = np.zeros((B, 6, E), np.float32)
    init = jax.jit(lambda key: ENCODER.init(key, xs, np.full((B,), 6, np.int32), **OFF))
    return init(jax.random.key(0))


encode = jax.jit(lambda variables, xs, lengths: ENCODER.apply(variables, xs, lengths, **OFF))


def inputs(lengths, width, seed=0):
    """[B, T, E] inputs, zero after each length (as a zero embedding would be)."""
    rng = np.random.default_rng(seed)
    xs = rng.normal(size=(len(lengths), width, E)).astype(np.float32)
    return np.where(np.arange(width)[None, :, None] < np.array(lengths)[:, None, None], xs, 0.0)


def numpy_encoder(params, xs, lengths):
    """Per width w: relu(window . kernel + bias) for each window in the sequence, max over
    them; a sequence shorter than w has one window, its first (zero padded)."""
    xs = np.pad(xs, ((0, 0), (0, max(0, max(FILTER_SIZES) - xs.shape[1])), (0, 0)))
    features = []
    for w in FILTER_SIZES:
        kernel, bias = np.asarray(params[f"conv{w}_kernel"]), np.asarray(params[f"conv{w}_bias"])
        per_sequence = []
        for x, length in zip(xs, lengths, strict=True):
            starts = range(max(length - w + 1, 1))
            windows = np.stack([x[s : s + w].reshape(-1) for s in starts])  # [W, w*E]
            per_sequence.append(np.maximum(windows @ kernel + bias, 0.0).max(axis=0))
        features.append(np.stack(per_sequence))
    return np.concatenate(features, axis=-1)  # [B, len(FILTER_SIZES) * F]


def test_unfold_windows_lays_each_window_out_flat():
    xs = np.arange(2 * 5 * 3, dtype=np.float32).reshape(2, 5, 3)
    got = np.asarray(unfold_windows(xs, 3))
    assert got.shape == (2, 5 - 3 + 1, 3 * 3)
    for start in range(3):
        np.testing.assert_array_equal(got[:, start], xs[:, start : start + 3].reshape(2, -1))


def test_parameters_are_one_flat_kernel_and_bias_per_window_size():
    params = variables()["params"]
    assert set(params) == {f"conv{w}_{part}" for w in FILTER_SIZES for part in ("kernel", "bias")}
    for w in FILTER_SIZES:
        assert params[f"conv{w}_kernel"].shape == (w * E, F)
        assert params[f"conv{w}_bias"].shape == (F,)


@pytest.mark.parametrize(
    "width,lengths",
    [(6, [6, 3, 1]), (2, [2, 1, 2])],
    ids=["wider-than-windows", "narrower-than-widest-window"],
)
def test_encoder_equals_numpy_convolution_relu_and_masked_max(width, lengths):
    params = variables()["params"]
    # A nonzero bias, so a padded window's relu(bias) would show if it were pooled.
    params = {name: value + 0.3 if "bias" in name else value for name, value in params.items()}
    xs = inputs(lengths, width)
    got = encode({"params": params}, xs, np.array(lengths, np.int32))
    assert got.shape == (B, len(FILTER_SIZES) * F)
    np.testing.assert_allclose(got, numpy_encoder(params, xs, lengths), rtol=1e-5, atol=1e-6)


def test_windows_past_a_sequences_end_are_not_pooled():
    """A large input after a length changes nothing for sequences at least a window long."""
    lengths = np.array([6, 3, 4], np.int32)
    xs = inputs(lengths, 6, seed=1)
    junk = np.where(np.arange(6)[None, :, None] < lengths[:, None, None], xs, 50.0)
    np.testing.assert_allclose(
        encode(variables(), junk, lengths), encode(variables(), xs, lengths), rtol=1e-6
    )


def test_short_sequence_features_do_not_depend_on_what_follows_its_length():
    lengths = np.array([1, 6, 2], np.int32)  # the first is shorter than both windows
    xs = inputs(lengths, 6, seed=2)
    padded = np.where(np.arange(6)[None, :, None] < lengths[:, None, None], xs, 0.7)
    np.testing.assert_allclose(
        encode(variables(), padded, lengths)[0], encode(variables(), xs, lengths)[0], rtol=1e-6
    )
