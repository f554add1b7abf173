"""spec/lengths.py: the max_length values a spec asks for, and data.max_length fitted to them."""

from __future__ import annotations

import dataclasses
import math

import pytest

from jaxtune.distributions import Distribution
from jaxtune.spec.data import DEFAULT_MAX_LENGTH, DataSpec
from jaxtune.spec.lengths import fit_data_width, requested_lengths

FILES = DataSpec(source="files", name="mine", train="train.csv")


class Refused(Exception):
    """What the test's `error` callback raises: the key and message fit_data_width gave."""

    def __init__(self, key, message):
        super().__init__(key, message)
        self.key, self.message = key, message


def fit(data, requests, *, given=False):
    return fit_data_width(data, requests, given=given, error=Refused)


def refused(data, requests, *, given=True) -> Refused:
    with pytest.raises(Refused) as error:
        fit(data, requests, given=given)
    assert "\n" not in error.value.message
    return error.value


def test_without_max_length_a_config_reads_the_whole_width():
    assert requested_lengths({}, {}, {}, {}) == [("model.max_length", None, "None")]


def test_a_fixed_max_length_is_requested_under_the_key_that_set_it():
    requests = requested_lengths({"max_length": 40}, {}, {}, {}, fixed_key="model.maxlen")
    assert requests == [("model.maxlen", 40, "40")]


def test_swept_values_are_each_requested():
    requests = requested_lengths({}, {"max_length": [16, None, 64]}, {}, {})
    assert requests == [
        ("parameters.max_length", 16, "16"),
        ("parameters.max_length", None, "None"),
        ("parameters.max_length", 64, "64"),
    ]


def test_weighted_values_are_each_requested_like_plain_ones():
    weighted = Distribution("categorical", values=(8, 24), probabilities=(0.3, 0.7))
    requests = requested_lengths({}, {}, {"max_length": weighted}, {}, swept_key="parameters.len")
    assert requests == [("parameters.len", 8, "8"), ("parameters.len", 24, "24")]


def test_a_numeric_distribution_requests_its_largest_draw_at_its_key():
    requests = requested_lengths({}, {}, {"max_length": Distribution("int_uniform", 4, 20)}, {})
    assert requests == [("parameters.max_length.max", 20, "20")]
    unbounded = Distribution("q_normal", mu=16, sigma=4, q=1)
    requests = requested_lengths({}, {}, {"max_length": unbounded}, {})
    assert requests == [("parameters.max_length.distribution", math.inf, "q_normal")]


def test_each_named_config_requests_its_own_or_the_fixed_max_length():
    named = {"short": {"max_length": 8}, "shared": {"learning_rate": 0.1}}
    requests = requested_lengths(
        {"max_length": 32}, {"max_length": [999]}, {}, named, fixed_key="model.max_len"
    )
    assert requests == [
        ("configs.short.max_length", 8, "8"),
        ("model.max_len", 32, "32"),
    ]


def test_files_are_encoded_at_the_largest_request_when_data_sets_no_width():
    requests = [("parameters.max_length", 24, "24"), ("parameters.max_length.max", 40.0, "40.0")]
    data = fit(FILES, requests)
    assert data.max_length == 40 and type(data.max_length) is int
    assert data == dataclasses.replace(FILES, max_length=40)  # nothing else changes


def test_a_whole_width_request_keeps_the_default_width():
    requests = [("parameters.max_length", 24, "24"), ("parameters.max_length", None, "None")]
    assert fit(FILES, requests).max_length == DEFAULT_MAX_LENGTH


def test_a_given_data_width_is_kept_and_checked():
    data = dataclasses.replace(FILES, max_length=50)
    assert fit(data, [("model.max_length", 20, "20")], given=True) == data
    assert fit(data, [("model.max_length", 50, "50")], given=True) == data  # the width itself
    error = refused(data, [("model.max_length", 20, "20"), ("model.max_length", 51, "51")])
    assert error.key == "model.max_length"
    assert error.message == (
        "found 51, above data.max_length 50 (the width the data is encoded at); allowed: 1 "
        "to 50 or null; raise data.max_length to read longer examples"
    )


def test_the_synthetic_width_is_never_changed_and_is_the_one_checked():
    synthetic = DataSpec()
    width = synthetic.synthetic.max_length
    assert fit(synthetic, [("model.max_length", width, repr(width))]) == synthetic
    error = refused(synthetic, [("configs.a.max_length", width + 1, repr(width + 1))], given=False)
    assert error.key == "configs.a.max_length"
    assert error.message.startswith(f"found {width + 1}, above data.max_length {width} ")


def test_an_unbounded_request_names_the_distribution_and_the_bounded_ones():
    error = refused(FILES, [("parameters.max_length.distribution", math.inf, "log_normal")])
    assert error.key == "parameters.max_length.distribution"
    assert error.message == (
        f"found log_normal, which has no upper bound; max_length takes 1 to data.max_length "
        f"{FILES.max_length}: use values, int_uniform, q_uniform or q_log_uniform"
    )
