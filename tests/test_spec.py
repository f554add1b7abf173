"""Spec validation: each bad spec is one exact line naming file, key, value and what is allowed."""

import textwrap

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from jaxtune.space import HPARAMS
from jaxtune.spec import SpecError, load_spec, parse_spec

KNOWN = ", ".join(HPARAMS)

BAD_SPECS = [
    (
        "nme: demo",
        "nme: unknown key; allowed: name, description, method, metric, parameters, "
        "model, data, train, budget, seed",
    ),
    (
        "parameters:\n  learnin_rate: {values: [0.1]}",
        f"parameters.learnin_rate: unknown hyperparameter 'learnin_rate'; known: {KNOWN}",
    ),
    (
        "parameters:\n  learning_rate: {values: [0.001, fast]}",
        "parameters.learning_rate.values[1]: expected a number in (0, 1e+06], found 'fast'",
    ),
    (
        "parameters:\n  dropout: {value: 1.0}",
        "parameters.dropout.value: expected a number in [0, 1), found 1.0",
    ),
    (
        "parameters:\n  dropout: {value: 0.1, values: [0.2]}",
        "parameters.dropout: expected exactly one of value, values",
    ),
    (
        "parameters:\n  dropout: {values: []}",
        "parameters.dropout.values: expected a non-empty list, found []",
    ),
    (
        "parameters:\n  dropout: {distribution: uniform, min: 0, max: 0.5}",
        "parameters.dropout.distribution: unknown key; allowed: value, values",
    ),
    ("method: random", "method: expected one of grid, found 'random'"),
    (
        "metric: {name: acc}",
        "metric.name: expected one of val_loss, val_accuracy, val_macro_f1, found 'acc'",
    ),
    (
        "metric: {name: val_loss, goal: down}",
        "metric.goal: expected one of maximize, minimize, found 'down'",
    ),
    (
        "train:\n  early_stopping: {patience: 0}",
        "train.early_stopping.patience: expected an integer in [1, 100000], found 0",
    ),
    (
        "train:\n  early_stopping: {monitor: accuracy}",
        "train.early_stopping.monitor: expected one of val_loss, val_accuracy, val_macro_f1, "
        "found 'accuracy'",
    ),
    ("train: {max_loss: -1}", "train.max_loss: expected null or a number in (0, 1e+30], found -1"),
    (
        "data: {rows: 5}",
        "data.rows: unknown key; allowed: name, train_size, val_size, "
        "test_size, min_length, max_length, label_noise, seed",
    ),
    ("data: {name: imdb}", "data.name: expected one of synthetic, found 'imdb'"),
    ("data: {min_length: 20, max_length: 10}", "data.min_length: 20 is above data.max_length 10"),
    ("- 1\n- 2", "expected a YAML mapping at the top level, found [1, 2]"),
    (
        "model: {units: 8}\nparameters:\n  hidden_size: {values: [4, 8]}",
        "parameters.hidden_size: 'hidden_size' is set twice (model, train or parameters)",
    ),
    (
        "model: {optimiser: adam}",
        f"model.optimiser: unknown hyperparameter 'optimiser'; known: {KNOWN}",
    ),
    (
        "parameters:\n  optimizer: {values: [adam, lamb]}",
        "parameters.optimizer.values[1]: expected one of adam, adamw, rmsprop, sgd, found 'lamb'",
    ),
    (
        "parameters:\n  filter_sizes: {values: [[3, 4], [0]]}",
        "parameters.filter_sizes.values[1]: expected a list of 1 to 8 integers in [1, 64], "
        "found [0]",
    ),
    (
        "budget: {max_population: 0}",
        "budget.max_population: expected an integer in [1, 1048576], found 0",
    ),
    (
        "parameters:\n  epochs: 2.5",
        "parameters.epochs: expected an integer in [1, 100000], found 2.5",
    ),
]


@pytest.mark.parametrize("text,message", BAD_SPECS, ids=[m.split(":")[0] for _, m in BAD_SPECS])
def test_bad_spec_gives_one_exact_line(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(SpecError) as error:
        load_spec(path)
    assert str(error.value) == f"{path}: {message}"
    assert "\n" not in str(error.value)


def test_invalid_yaml_names_the_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: demo\nparameters:\n  dropout: {values: [0.1, 0.2}\n")
    with pytest.raises(SpecError, match=rf"^{path}: line 3: invalid YAML: "):
        load_spec(path)


def test_missing_file(tmp_path):
    with pytest.raises(SpecError, match=r"nowhere.yaml: no such file$"):
        load_spec(tmp_path / "nowhere.yaml")


def test_aliases_yaml_exponents_and_shorthand(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text(
        textwrap.dedent("""
        parameters:
          lr: {values: [1e-3, 3e-4]}     # PyYAML reads 1e-3 as a string
          units: {values: [32, 64]}
          dropout: 0.25
          cell: {value: LSTM}
        train: {epochs: 3}
    """)
    )
    spec = load_spec(path)
    assert spec.name == "ok"
    assert spec.parameters == {"learning_rate": [0.001, 0.0003], "hidden_size": [32, 64]}
    assert spec.fixed == {"epochs": 3, "dropout": 0.25, "architecture": "lstm"}
    assert spec.metric == "val_accuracy" and spec.goal == "maximize"
    assert spec.train.early_stopping.monitor == "val_accuracy"


def test_wandb_sweep_file_runs_with_launch_keys_ignored():
    # The shape of W&B's documented grid sweep config.
    document = yaml.safe_load(
        textwrap.dedent("""
        program: train.py
        command:
          - ${env}
          - python
          - ${program}
          - ${args}
        project: my-project
        entity: my-team
        method: grid
        metric: {name: val_loss, goal: minimize}
        parameters:
          learning_rate: {values: [0.01, 0.001]}
          batch_size: {values: [16, 32]}
          optimizer: {value: sgd}
    """)
    )
    spec = parse_spec(document, "wandb.yaml")
    assert spec.parameters == {"learning_rate": [0.01, 0.001], "batch_size": [16, 32]}
    assert spec.metric == "val_loss" and spec.goal == "minimize"
    assert any("program: ignored" in notice for notice in spec.notices)
    assert any("command: ignored" in notice for notice in spec.notices)


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
)
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.text(max_size=8), st.integers()), children, max_size=4),
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(documents)
def test_fuzzed_documents_are_accepted_or_one_spec_error(document):
    try:
        parse_spec(document, "fuzz.yaml")
    except SpecError as error:
        assert str(error).startswith("fuzz.yaml: ") and "\n" not in str(error)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(sorted(HPARAMS)),
    documents,
    st.sampled_from(["model", "parameters", "parameters-values"]),
)
def test_fuzzed_hparam_values_are_accepted_or_one_spec_error(name, value, where):
    if where == "model":
        document = {"model": {name: value}}
    elif where == "parameters":
        document = {"parameters": {name: value}}
    else:
        document = {"parameters": {name: {"values": value}}}
    try:
        parse_spec(document, "fuzz.yaml")
    except SpecError as error:
        assert str(error).startswith("fuzz.yaml: ") and "\n" not in str(error)
