"""spec/parameters.py: the parameters section as swept values, distributions and baselines."""

from __future__ import annotations

import pytest

from jaxtune.distributions import KEYS, Distribution
from jaxtune.spec.errors import Reader, SpecError
from jaxtune.spec.parameters import BAYES_KINDS, check_layer_counts, parse_parameters
from jaxtune.values import layer_conflict

READ = Reader("s.yaml")


def parse(section, method="grid", fixed=None):
    return parse_parameters(READ, section, {} if fixed is None else fixed, method)


def parameters_error(section, method="grid", fixed=None) -> str:
    with pytest.raises(SpecError) as error:
        parse(section, method, fixed)
    message = str(error.value)
    assert message.startswith("s.yaml: ") and "\n" not in message
    return message.removeprefix("s.yaml: ")


def test_a_missing_section_sweeps_nothing():
    assert parse(None) == ({}, {}, {})


def test_shorthand_and_value_entries_fix_the_hyperparameter():
    fixed = {"epochs": 2}
    swept, distributions, baselines = parse(
        {"dropout": 0.25, "cell": {"value": "LSTM"}}, fixed=fixed
    )
    assert fixed == {"epochs": 2, "dropout": 0.25, "architecture": "lstm"}
    assert (swept, distributions, baselines) == ({}, {}, {})


def test_grid_values_drop_repeats_and_keep_spec_order():
    swept, distributions, _ = parse({"lr": {"values": ["1e-2", 0.1, 0.01, "1e-3"]}})
    assert swept == {"learning_rate": [0.01, 0.1, 0.001]}
    assert distributions == {}


def test_a_baseline_is_parsed_and_kept_by_hyperparameter():
    _, _, baselines = parse({"units": {"values": [32, 64], "baseline": "64"}}, "one_at_a_time")
    assert baselines == {"hidden_size": 64}


@pytest.mark.parametrize("method", ["grid", "one_at_a_time", "greedy"])
def test_discrete_distributions_become_value_lists_outside_random(method):
    swept, distributions, _ = parse(
        {
            "layers": {"min": 1, "max": 3},
            "batch_size": {"distribution": "q_uniform", "min": 16, "max": 64, "q": 16},
        },
        method,
    )
    assert swept == {"num_layers": [1, 2, 3], "batch_size": [16, 32, 48]}
    assert distributions == {}


def test_random_keeps_numeric_distributions_and_plain_value_lists():
    swept, distributions, _ = parse(
        {"lr": {"min": 1e-4, "max": 1e-2}, "optimizer": {"values": ["adam", "sgd"]}}, "random"
    )
    assert swept == {"optimizer": ["adam", "sgd"]}
    assert distributions == {"learning_rate": Distribution("uniform", 1e-4, 1e-2)}


def test_random_merges_repeated_values_into_their_summed_weights():
    _, distributions, _ = parse(
        {"optimizer": {"values": ["adam", "sgd", "adam"], "probabilities": [0.1, 0.6, 0.3]}},
        "random",
    )
    weighted = distributions["optimizer"]
    assert weighted.values == ("adam", "sgd")
    assert weighted.probabilities == pytest.approx((0.4, 0.6))


def test_random_weights_that_come_out_even_are_a_plain_list():
    swept, distributions, _ = parse(
        {
            "optimizer": {"values": ["adam", "sgd", "adam"], "probabilities": [0.2, 0.5, 0.3]},
            "architecture": {"values": ["gru", "lstm", "gru", "lstm"]},
        },
        "random",
    )
    assert swept == {"optimizer": ["adam", "sgd"], "architecture": ["gru", "lstm"]}
    assert distributions == {}


def test_probabilities_within_numpy_isclose_of_one_are_normalised():
    _, distributions, _ = parse(
        {"optimizer": {"values": ["adam", "sgd"], "probabilities": [0.25, 0.750005]}}, "random"
    )
    probabilities = distributions["optimizer"].probabilities
    assert sum(probabilities) == pytest.approx(1.0, abs=1e-12)
    assert probabilities[1] / probabilities[0] == pytest.approx(0.750005 / 0.25)


@pytest.mark.parametrize(
    ("probabilities", "found"),
    [
        ([0.5, 0.50002], "expected probabilities that sum to 1, found a sum of 1.00002"),
        ([1.5, -0.5], "expected a list of 2 numbers >= 0, one per value, found [1.5, -0.5]"),
        ("even", "expected a list of 2 numbers >= 0, one per value, found 'even'"),
    ],
)
def test_bad_probabilities_are_one_line(probabilities, found):
    message = parameters_error(
        {"optimizer": {"values": ["adam", "sgd"], "probabilities": probabilities}}, "random"
    )
    assert message == f"parameters.optimizer.probabilities: {found}"


BAYES_ENTRIES = [
    ("learning_rate", {"distribution": "uniform", "min": 1e-4, "max": 1e-2}),
    ("learning_rate", {"distribution": "log_uniform_values", "min": 1e-5, "max": 1e-1}),
    ("learning_rate", {"distribution": "log_uniform", "min": -9, "max": -2}),
    ("batch_size", {"distribution": "int_uniform", "min": 16, "max": 64}),
    ("batch_size", {"distribution": "q_uniform", "min": 16, "max": 64, "q": 16}),
]


def test_bayes_entries_cover_every_kind_bayes_takes():
    assert sorted(entry["distribution"] for _, entry in BAYES_ENTRIES) == sorted(BAYES_KINDS)


@pytest.mark.parametrize(
    ("name", "entry"), BAYES_ENTRIES, ids=[e["distribution"] for _, e in BAYES_ENTRIES]
)
def test_bayes_keeps_the_distributions_optuna_can_ask(name, entry):
    swept, distributions, _ = parse({name: entry}, "bayes")
    assert swept == {} and list(distributions) == [name]
    assert distributions[name].kind == entry["distribution"]


def test_bayes_refuses_other_distributions_naming_the_ones_it_takes():
    message = parameters_error(
        {"batch_size": {"distribution": "q_log_uniform_values", "min": 16, "max": 64, "q": 8}},
        "bayes",
    )
    assert message == (
        "parameters.batch_size.distribution: found q_log_uniform_values under method bayes; "
        f"bayes takes value, values, {', '.join(BAYES_KINDS)}"
    )


def test_a_hyperparameter_already_fixed_is_set_twice():
    assert parameters_error({"layers": {"values": [1, 2]}}, fixed={"num_layers": 1}) == (
        "parameters.layers: 'num_layers' is set twice (model, train or parameters)"
    )


def test_an_unknown_entry_key_names_the_distribution_and_its_keys():
    message = parameters_error({"lr": {"values": [0.1], "odd key": 1}})
    assert message == (
        "parameters.lr.'odd key': unknown key for categorical; allowed: "
        f"{', '.join(KEYS['categorical'])}"
    )
    message = parameters_error({"lr": {"distribution": "normal", "min": 0.1}}, "random")
    assert message == (
        f"parameters.lr.min: unknown key for normal; allowed: {', '.join(KEYS['normal'])}"
    )


def test_a_grid_value_the_hyperparameter_refuses_names_the_grid():
    message = parameters_error({"dropout": {"distribution": "int_uniform", "min": 0, "max": 2}})
    assert message == (
        "parameters.dropout: expected a number in [0, 1), found 1 in the grid of "
        "int_uniform(min=0, max=2)"
    )


def test_layer_counts_that_agree_pass():
    check_layer_counts(READ, {}, {"hidden_size": (8, 8)}, {"num_layers": [2]}, {}, {})
    check_layer_counts(READ, {}, {}, {"hidden_size": [8, (8, 8)], "num_layers": [2]}, {}, {})
    check_layer_counts(READ, {}, {"num_layers": 3}, {"hidden_size": [8, 16]}, {}, {})


def test_a_layer_count_conflict_names_the_key_as_written():
    document = {"parameters": {"layers": {"values": [2, 3]}}}
    with pytest.raises(SpecError) as error:
        check_layer_counts(READ, document, {"hidden_size": (8, 8)}, {"num_layers": [2, 3]}, {}, {})
    assert str(error.value) == f"s.yaml: parameters.layers: {layer_conflict(3, (8, 8))}"


def test_a_layer_count_conflict_without_a_written_key_names_the_hyperparameter():
    with pytest.raises(SpecError) as error:
        check_layer_counts(READ, {}, {"num_layers": 1}, {"hidden_size": [(4, 4)]}, {}, {})
    assert str(error.value) == f"s.yaml: num_layers: {layer_conflict(1, (4, 4))}"


def test_a_named_config_list_against_the_model_layer_count_names_the_model_key():
    document = {"model": {"num_layers": 3}, "configs": {"pair": {"units": [8, 4]}}}
    named = {"pair": {"hidden_size": (8, 4)}, "single": {"hidden_size": 8}}
    with pytest.raises(SpecError) as error:
        check_layer_counts(READ, document, {"num_layers": 3}, {}, {}, named)
    assert str(error.value) == f"s.yaml: model.num_layers: {layer_conflict(3, (8, 4))}"
    # Its own num_layers, agreeing with its list, overrides the model's.
    named = {"pair": {"hidden_size": (8, 4), "num_layers": 2}}
    check_layer_counts(READ, document, {"num_layers": 3}, {}, {}, named)
