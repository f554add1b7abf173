"""distributions.py: W&B distributions read from an entry, checked against an hparam, drawn."""

from __future__ import annotations

import math

import numpy as np
import pytest

from jaxtune.distributions import (
    DISTRIBUTIONS,
    MAX_GRID_VALUES,
    MAX_REDRAWS,
    Distribution,
    DistributionError,
    check_distribution,
    draw,
    draw_valid,
    entry_kind,
    grid_values,
    largest_draw,
    numeric_kind,
    quantize,
    read_distribution,
)
from jaxtune.space import HPARAMS, HParam
from jaxtune.values import floating, integer

# A float hyperparameter with a lower bound above 0, to reach checks no registry entry has.
RATE = HParam("rate", "dynamic", 0.5, floating(0.1, 1.0), "a bounded rate")


def distribution_error(function, *args) -> DistributionError:
    with pytest.raises(DistributionError) as error:
        function(*args)
    assert "\n" not in str(error.value)
    return error.value


@pytest.mark.parametrize(
    ("entry", "kind"),
    [
        ({"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-1}, "log_uniform_values"),
        ({"distribution": "categorical_w_probabilities", "values": [1, 2]}, "categorical"),
        ({"value": 0.1}, "constant"),
        ({"values": [0.1, 0.2]}, "categorical"),
        ({"min": 1, "max": 4}, "int_uniform"),  # W&B: two ints are int_uniform
        ({"min": 1, "max": 4.0}, "uniform"),
        ({"min": "1e-4", "max": 1}, "uniform"),
        ({"min": True, "max": 4}, "uniform"),  # a YAML boolean is no integer
    ],
)
def test_entry_kind_is_the_named_distribution_or_inferred_as_wandb_does(entry, kind):
    assert entry_kind(entry) == kind


@pytest.mark.parametrize(
    ("entry", "key", "message"),
    [
        ({"value": 1, "values": [1]}, "", "expected exactly one of value, values"),
        (
            {"distribution": "loguniform"},
            "distribution",
            f"expected one of {', '.join(DISTRIBUTIONS)}, found 'loguniform'",
        ),
        (
            {"distribution": 3},
            "distribution",
            f"expected one of {', '.join(DISTRIBUTIONS)}, found 3",
        ),
        (
            {"max": 2},
            "",
            "expected value, values, min and max, or a distribution, found {'max': 2}",
        ),
    ],
)
def test_entry_kind_errors_name_the_key_at_fault(entry, key, message):
    error = distribution_error(entry_kind, entry)
    assert (error.key, str(error)) == (key, message)


def test_read_distribution_fills_wandb_defaults():
    assert read_distribution("normal", {}) == Distribution("normal", mu=0.0, sigma=1.0)
    q_default = read_distribution("q_uniform", {"min": 0, "max": 4})
    assert (q_default.q, type(q_default.q)) == (1.0, float)  # W&B's default q is 1.0
    assert read_distribution("q_uniform", {"min": 0, "max": 4, "q": 2}).q == 2
    assert read_distribution("uniform", {"min": 0, "max": 4}).q is None


def test_read_distribution_reads_yaml_exponent_strings_and_whole_floats_of_int_uniform():
    assert read_distribution("uniform", {"min": "1e-4", "max": "1e-1"}) == Distribution(
        "uniform", 1e-4, 1e-1
    )
    bounds = read_distribution("int_uniform", {"min": 2.0, "max": 5.0})
    assert (bounds.min, bounds.max) == (2, 5)
    assert type(bounds.min) is int and type(bounds.max) is int


def test_read_distribution_allows_a_zero_sigma_and_a_normal_with_any_mu():
    assert read_distribution("log_normal", {"mu": -50, "sigma": 0}).sigma == 0


@pytest.mark.parametrize(
    ("kind", "entry", "key", "message"),
    [
        ("uniform", {"max": 1}, "min", "missing; uniform needs min and max"),
        ("q_uniform", {"min": 0}, "max", "missing; q_uniform needs min and max"),
        ("uniform", {"min": 0, "max": math.inf}, "max", "expected a number, found inf"),
        ("uniform", {"min": False, "max": 1}, "min", "expected a number, found False"),
        ("uniform", {"min": 10**400, "max": 1}, "min", f"expected a number, found {10**400!r}"),
        ("int_uniform", {"min": 1, "max": 4.5}, "max", "expected an integer, found 4.5"),
        ("uniform", {"min": 2, "max": 2}, "min", "2 is not less than max 2"),
        (
            "q_log_uniform_values",
            {"min": -1, "max": 8},
            "min",
            "expected a number > 0 for q_log_uniform_values, found -1",
        ),
        ("q_normal", {"q": -0.5}, "q", "expected a number > 0, found -0.5"),
        ("normal", {"sigma": -1}, "sigma", "expected a number >= 0, found -1"),
        ("normal", {"mu": "centre"}, "mu", "expected a number, found 'centre'"),
    ],
)
def test_read_distribution_errors_name_the_entry_key_and_the_value(kind, entry, key, message):
    error = distribution_error(read_distribution, kind, entry)
    assert (error.key, str(error)) == (key, message)


def test_distribution_str_lists_its_own_keys_in_schema_order():
    assert str(Distribution("int_uniform", 1, 3)) == "int_uniform(min=1, max=3)"
    assert str(Distribution("q_uniform", 0, 1.05, 0.05)) == "q_uniform(min=0, max=1.05, q=0.05)"
    assert str(Distribution("log_normal", mu=-2, sigma=0.5)) == "log_normal(mu=-2, sigma=0.5)"
    weighted = Distribution("categorical", values=("a", "b"), probabilities=(0.25, 0.75))
    assert str(weighted) == "categorical(values=['a', 'b'], probabilities=[0.25, 0.75])"


@pytest.mark.parametrize("q", [0.1, 0.05, 1e-4, 0.25, 8, 3])
def test_quantize_keeps_multiples_of_q_as_written(q):
    for steps in range(-20, 21):
        # The multiple written with q's decimals, e.g. 3 * 0.1 as 0.3, not 0.30000000000000004.
        exact = steps * q if isinstance(q, int) else round(steps * q, 10)
        assert quantize(exact, q) == exact
        assert quantize(exact + 0.49 * q, q) == exact  # nearer to this multiple than the next


def test_quantize_leaves_a_value_it_cannot_round_unchanged():
    assert quantize(math.inf, 0.5) == math.inf


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("epochs", "int"),
        ("hidden_size", "int"),  # an integer or a list of them: draws are integers
        ("max_length", "int"),  # null or an integer
        ("learning_rate", "float"),
        ("clip_norm", "float"),  # null or a number
        ("optimizer", None),
        ("bidirectional", None),
        ("filter_sizes", None),
    ],
)
def test_numeric_kind_follows_what_the_hparam_allows(name, kind):
    assert numeric_kind(HPARAMS[name]) == kind


def test_check_distribution_accepts_open_ends_a_continuous_draw_never_reaches():
    # W&B reaches an interval's ends with probability zero.
    check_distribution(Distribution("uniform", 0.0, 1.0), HPARAMS["dropout"])  # [0, 1)
    check_distribution(Distribution("uniform", 0.0, 0.1), HPARAMS["learning_rate"])  # (0, 1e6]


def test_check_distribution_takes_int_uniform_and_integer_q_for_integer_hparams():
    check_distribution(Distribution("int_uniform", 1, 8), HPARAMS["num_layers"])
    check_distribution(Distribution("q_uniform", 8, 64, 8), HPARAMS["batch_size"])
    check_distribution(Distribution("q_log_uniform_values", 8, 64, 4.0), HPARAMS["batch_size"])


@pytest.mark.parametrize(
    ("dist", "name", "key", "message"),
    [
        (
            Distribution("uniform", 1.0, 4.0),
            "epochs",
            "distribution",
            "uniform draws fractional numbers; epochs takes an integer in [1, 100000]: use "
            "int_uniform, or a q_ distribution with an integer q",
        ),
        (
            Distribution("q_uniform", 1.0, 4.0, 0.5),
            "epochs",
            "q",
            "expected an integer q for epochs (an integer in [1, 100000]), found 0.5",
        ),
        (
            Distribution("int_uniform", 0, 3),
            "optimizer",
            "distribution",
            "int_uniform draws numbers; optimizer takes one of adam, adamw, rmsprop, sgd: "
            "use values",
        ),
        (
            Distribution("int_uniform", 0, 3),
            "epochs",
            "min",
            "expected an integer in [1, 100000], found 0",
        ),
        (
            Distribution("q_uniform", 0.0, 1.0, 0.25),
            "label_smoothing",
            "max",
            "expected a number in [0, 1), found 1.0, which rounds to 1.0 at q 0.25",
        ),
    ],
)
def test_check_distribution_names_the_entry_key_whose_draws_fail(dist, name, key, message):
    error = distribution_error(check_distribution, dist, HPARAMS[name])
    assert (error.key, str(error)) == (key, message)


def test_check_distribution_of_log_uniform_shows_the_exponent_and_its_value():
    # exp(-2) = 0.135 is allowed, exp(0.5) = 1.65 is not.
    error = distribution_error(check_distribution, Distribution("log_uniform", -2.0, 0.5), RATE)
    assert error.key == "max"
    assert str(error) == f"expected a number in [0.1, 1], found exp(0.5) = {math.exp(0.5):g}"


def test_check_distribution_of_inv_log_uniform_blames_max_for_the_smallest_value():
    # log(1/X) uniform in [min, max]: the largest exponent gives the smallest X.
    error = distribution_error(check_distribution, Distribution("inv_log_uniform", 0.5, 3.0), RATE)
    assert error.key == "max"
    assert str(error) == f"expected a number in [0.1, 1], found exp(-3.0) = {math.exp(-3.0):g}"
    check_distribution(Distribution("inv_log_uniform", 0.5, 2.0), RATE)  # exp(-2) = 0.135


def test_check_distribution_of_inv_log_uniform_writes_a_negative_min_readably():
    error = distribution_error(
        check_distribution, Distribution("inv_log_uniform", -1.0, 2.0), HPARAMS["dropout"]
    )
    assert error.key == "min"
    assert "--" not in str(error)
    assert f"exp(1.0) = {math.e:g}" in str(error)


def test_check_distribution_checks_only_the_centre_of_the_normal_family():
    # Draws outside the range are redrawn, so a wide normal around a valid mu is fine.
    check_distribution(Distribution("normal", mu=0.5, sigma=100.0), HPARAMS["dropout"])
    error = distribution_error(
        check_distribution, Distribution("log_normal", mu=1.0, sigma=0.1), HPARAMS["dropout"]
    )
    assert error.key == "mu"
    assert str(error) == f"expected a number in [0, 1), found exp(1.0) = {math.e:g}"


def test_largest_draw_is_unbounded_for_the_normal_family():
    for kind in ("normal", "q_normal", "log_normal", "q_log_normal"):
        assert largest_draw(Distribution(kind, q=1)) == ("distribution", math.inf, kind)


def test_largest_draw_names_the_key_that_gives_the_largest_value():
    assert largest_draw(Distribution("int_uniform", 2, 9)) == ("max", 9, "9")
    key, value, shown = largest_draw(Distribution("q_uniform", 4, 15, 4))
    assert (key, value) == ("max", 16)  # round(15 / 4) * 4
    assert shown == "15, which rounds to 16 at q 4"
    key, value, _ = largest_draw(Distribution("inv_log_uniform", 1.0, 3.0))
    assert key == "min" and value == pytest.approx(math.exp(-1.0)) and value < math.exp(-1.0)


def test_grid_of_int_uniform_is_every_integer_with_both_ends():
    assert grid_values(Distribution("int_uniform", -2, 2)) == [-2, -1, 0, 1, 2]


def test_grid_of_q_uniform_is_numpy_arange_without_max():
    assert grid_values(Distribution("q_uniform", 8, 32, 8)) == [8, 16, 24]
    values = grid_values(Distribution("q_uniform", 0.5, 1.5, 0.25))
    assert values == [0.5, 0.75, 1.0, 1.25]
    assert values == [round(v, 2) for v in np.arange(0.5, 1.5, 0.25)]
    tenths = grid_values(Distribution("q_uniform", 0.0, 1.0, 0.1))
    assert tenths == [i / 10 for i in range(10)]  # 0.3, not 0.30000000000000004


def test_grid_of_integer_bounds_and_q_keeps_ints():
    values = grid_values(Distribution("q_uniform", 1, 10, 3))
    assert values == [1, 4, 7] and all(type(v) is int for v in values)


def test_grid_holds_at_most_max_grid_values():
    assert len(grid_values(Distribution("int_uniform", 1, MAX_GRID_VALUES))) == MAX_GRID_VALUES
    dist = Distribution("int_uniform", 1, MAX_GRID_VALUES + 1)
    error = distribution_error(grid_values, dist)
    assert error.key == ""
    assert str(error) == (
        f"{dist} on a grid has {MAX_GRID_VALUES + 1} values; at most {MAX_GRID_VALUES}"
    )


def test_categorical_draws_follow_the_probabilities():
    certain = Distribution("categorical", values=("a", "b", "c"), probabilities=(0.0, 1.0, 0.0))
    rng = np.random.default_rng(0)
    assert {draw(certain, rng) for _ in range(50)} == {"b"}


def test_int_uniform_draws_python_ints_including_both_ends():
    rng = np.random.default_rng(0)
    values = [draw(Distribution("int_uniform", 3, 5), rng) for _ in range(200)]
    assert set(values) == {3, 4, 5} and all(type(v) is int for v in values)


@pytest.mark.parametrize(
    ("dist", "exponent"),
    [
        (Distribution("log_uniform", -6.0, -2.0), math.log),  # ln(X) uniform in [min, max]
        (Distribution("inv_log_uniform", 2.0, 6.0), lambda x: -math.log(x)),  # ln(1/X)
        (Distribution("log_uniform_values", 1e-6, 1e-2), math.log),
        (Distribution("inv_log_uniform_values", 1e-6, 1e-2), math.log),
    ],
    ids=["log_uniform", "inv_log_uniform", "log_uniform_values", "inv_log_uniform_values"],
)
def test_log_family_draws_are_uniform_in_their_exponent(dist, exponent):
    rng = np.random.default_rng(3)
    values = [draw(dist, rng) for _ in range(2000)]
    assert all(type(v) is float for v in values)
    if dist.kind.endswith("_values"):
        low, high = math.log(dist.min), math.log(dist.max)
    else:
        low, high = dist.min, dist.max
    exponents = np.array([exponent(v) for v in values])
    assert exponents.min() >= low - 1e-9 and exponents.max() <= high + 1e-9
    # Uniform in [low, high]: mean at the centre, sd (high - low) / sqrt(12 * 2000) ~ 0.026.
    assert abs(exponents.mean() - (low + high) / 2) < 8 * (high - low) / math.sqrt(12 * 2000)


def test_normal_family_draws_centre_on_mu_and_log_normal_is_exp_of_it():
    rng = np.random.default_rng(5)
    normal = np.array([draw(Distribution("normal", mu=2.0, sigma=0.5), rng) for _ in range(2000)])
    logs = np.log([draw(Distribution("log_normal", mu=-3.0, sigma=0.5), rng) for _ in range(2000)])
    for values, mu in ((normal, 2.0), (logs, -3.0)):
        assert abs(values.mean() - mu) < 8 * 0.5 / math.sqrt(2000)
        assert 0.45 < values.std() < 0.55


def test_q_draws_are_multiples_of_q():
    rng = np.random.default_rng(0)
    for dist in (
        Distribution("q_uniform", 0.0, 1.0, 0.05),
        Distribution("q_log_uniform_values", 16, 512, 16),
        Distribution("q_normal", mu=50.0, sigma=20.0, q=5),
    ):
        for _ in range(100):
            value = draw(dist, rng)
            assert value == quantize(value, dist.q)
            assert abs(value / dist.q - round(value / dist.q)) < 1e-9


def test_draws_are_reproducible_from_the_generator_seed():
    dist = Distribution("log_uniform_values", 1e-5, 1e-1)
    first = [draw(dist, np.random.default_rng(11)) for _ in range(3)]
    again = [draw(dist, np.random.default_rng(11)) for _ in range(3)]
    assert first == again


def test_draw_valid_returns_the_parsed_value():
    rng = np.random.default_rng(0)
    value = draw_valid(Distribution("q_uniform", 1.0, 8.0, 1.0), integer(1, 8), rng)
    assert type(value) is int and 1 <= value <= 8


def test_draw_valid_gives_up_after_max_redraws_with_one_line():
    dist = Distribution("normal", mu=5.0, sigma=0.01)  # never inside [0, 1)
    parse = HPARAMS["dropout"].parse
    calls = []

    def counting(value):
        calls.append(value)
        return parse(value)

    counting.allowed = parse.allowed
    error = distribution_error(draw_valid, dist, counting, np.random.default_rng(0))
    assert len(calls) == MAX_REDRAWS
    assert error.key == ""
    assert str(error) == (
        f"{MAX_REDRAWS} draws in a row from {dist} fell outside {parse.allowed}; narrow it"
    )


def test_draw_valid_skips_only_space_errors():
    def broken(value):
        raise TypeError("not a check failure")

    broken.allowed = "anything"
    with pytest.raises(TypeError):
        draw_valid(Distribution("uniform", 0.0, 1.0), broken, np.random.default_rng(0))
