"""Spec validation: each bad spec is one exact line naming file, key, value and what is allowed."""

import dataclasses
import textwrap

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jaxtune.data.synthetic import SyntheticConfig
from jaxtune.distributions import DISTRIBUTIONS
from jaxtune.search.samplers import sample
from jaxtune.space import ALIASES, HPARAMS
from jaxtune.spec import METHODS, TOP_LEVEL, SpecError, load_spec, parse_spec

KNOWN = ", ".join(HPARAMS)
HUGE = "1" + "0" * 400  # YAML reads any digit string as an int, even one beyond float range

RANDOM = "method: random\nrun_cap: 8\n"
UNITS = "integer in [1, 4096] or a list of 1 to 8 of them (one per layer)"
TAKES = "takes value, values, int_uniform or q_uniform (other distributions need method random)"
# W&B's distributions: each error names the entry key at fault and what it allows.
DISTRIBUTION_SPECS = [
    (
        "parameters:\n  dropout: {distribution: uniform, min: 0, max: 0.5}",
        f"parameters.dropout.distribution: found uniform under method grid; grid {TAKES}",
    ),
    (
        "parameters:\n  lr: {min: 0.001, max: 0.1}",
        f"parameters.lr: found uniform (from min and max) under method grid; grid {TAKES}",
    ),
    (
        "method: one_at_a_time\nparameters:\n  lr: {distribution: normal, mu: 0.01}",
        "parameters.lr.distribution: found normal under method one_at_a_time; "
        f"one_at_a_time {TAKES}",
    ),
    ("run_cap: 0", "run_cap: expected an integer in [1, 1073741824], found 0"),
    (
        RANDOM + "parameters:\n  dropout: {distribution: uniform, min: 0, max: 1.5}",
        "parameters.dropout.max: expected a number in [0, 1), found 1.5",
    ),
    (
        RANDOM + "parameters:\n  dropout: {min: -0.1, max: 0.5}",
        "parameters.dropout.min: expected a number in [0, 1), found -0.1",
    ),
    (
        RANDOM + "parameters:\n  dropout: {distribution: q_uniform, min: 0, max: 1, q: 0.1}",
        "parameters.dropout.max: expected a number in [0, 1), found 1, which rounds to 1.0 at "
        "q 0.1",
    ),
    (
        RANDOM + "parameters:\n  num_layers: {min: 1, max: 9}",
        "parameters.num_layers.max: expected an integer in [1, 8], found 9",
    ),
    (
        RANDOM + "parameters:\n  units: {distribution: uniform, min: 16, max: 64}",
        "parameters.units.distribution: uniform draws fractional numbers; hidden_size takes an "
        f"{UNITS}: use int_uniform, or a q_ distribution with an integer q",
    ),
    (
        RANDOM + "parameters:\n  units: {min: 16.0, max: 64}",
        f"parameters.units: uniform draws fractional numbers; hidden_size takes an {UNITS}: "
        "use int_uniform, or a q_ distribution with an integer q",
    ),
    (
        RANDOM + "parameters:\n  units: {distribution: q_uniform, min: 16, max: 64, q: 0.5}",
        f"parameters.units.q: expected an integer q for hidden_size (an {UNITS}), found 0.5",
    ),
    (
        RANDOM + "parameters:\n  optimizer: {distribution: int_uniform, min: 0, max: 3}",
        "parameters.optimizer.distribution: int_uniform draws numbers; optimizer takes one of "
        "adam, adamw, rmsprop, sgd: use values",
    ),
    (
        RANDOM + "parameters:\n  lr: {distribution: log_uniform, min: -20, max: 20}",
        "parameters.lr.max: expected a number in (0, 1e+06], found exp(20) = 4.85165e+08",
    ),
    (
        RANDOM + "parameters:\n  lr: {distribution: log_uniform_values, min: 0, max: 0.1}",
        "parameters.lr.min: expected a number > 0 for log_uniform_values, found 0",
    ),
    (
        RANDOM + "parameters:\n  lr: {min: 0.1, max: 0.01}",
        "parameters.lr.min: 0.1 is not less than max 0.01",
    ),
    (
        RANDOM + "parameters:\n  units: {distribution: int_uniform, min: 8, max: 8}",
        "parameters.units.min: 8 is not less than max 8",
    ),
    (
        RANDOM + "parameters:\n  units: {distribution: int_uniform, min: 8.5, max: 16}",
        "parameters.units.min: expected an integer, found 8.5",
    ),
    (
        RANDOM + "parameters:\n  lr: {distribution: uniform, min: 1e-4}",
        "parameters.lr.max: missing; uniform needs min and max",
    ),
    (
        RANDOM + "parameters:\n  lr: {distribution: uniform, min: 1e-4, max: fast}",
        "parameters.lr.max: expected a number, found 'fast'",
    ),
    (
        RANDOM + "parameters:\n  lr: {distribution: uniform, min: 1e-4, max: 0.1, q: 2}",
        "parameters.lr.q: unknown key for uniform; allowed: distribution, min, max",
    ),
    (
        RANDOM + "parameters:\n  lr: {distribution: q_uniform, min: 1e-4, max: 0.1, q: 0}",
        "parameters.lr.q: expected a number > 0, found 0",
    ),
    (
        RANDOM + "parameters:\n  lr: {distribution: normal}",
        "parameters.lr.mu: expected a number in (0, 1e+06], found 0.0",
    ),
    (
        RANDOM + "parameters:\n  lr: {distribution: log_normal, mu: -5, sigma: -1}",
        "parameters.lr.sigma: expected a number >= 0, found -1",
    ),
    (
        RANDOM + "parameters:\n  lr: {distribution: log_normal, mu: 20}",
        "parameters.lr.mu: expected a number in (0, 1e+06], found exp(20) = 4.85165e+08",
    ),
    (
        RANDOM + "parameters:\n  lr: {distribution: loguniform, min: 1e-4, max: 0.1}",
        "parameters.lr.distribution: expected one of constant, categorical, "
        "categorical_w_probabilities, int_uniform, uniform, q_uniform, log_uniform, "
        "log_uniform_values, q_log_uniform, q_log_uniform_values, inv_log_uniform, "
        "inv_log_uniform_values, normal, q_normal, log_normal, q_log_normal, found 'loguniform'",
    ),
    (
        "parameters:\n  lr: {min: 1e-4}",
        "parameters.lr: expected value, values, min and max, or a distribution, found "
        "{'min': '1e-4'}",
    ),
    (
        "parameters:\n  dropout: {distribution: constant}",
        "parameters.dropout.value: missing; constant needs value",
    ),
    (
        "parameters:\n  dropout: {distribution: categorical, value: 0.1}",
        "parameters.dropout.value: unknown key for categorical; allowed: distribution, values, "
        "probabilities, baseline",
    ),
    (
        "parameters:\n  dropout: {values: [0.1, 0.2], probabilities: [0.5, 0.5]}",
        "parameters.dropout.probabilities: found under method grid; probabilities weight the "
        "draws of method random",
    ),
    (
        RANDOM + "parameters:\n  dropout: {values: [0.1, 0.2], probabilities: [0.5, 0.4]}",
        "parameters.dropout.probabilities: expected probabilities that sum to 1, found a sum of "
        "0.9",
    ),
    (
        RANDOM + "parameters:\n  dropout: {values: [0.1, 0.2], probabilities: [1]}",
        "parameters.dropout.probabilities: expected a list of 2 numbers >= 0, one per value, "
        "found [1]",
    ),
    (
        "parameters:\n  dropout: {values: [0.1, 0.2], baseline: 0.3}",
        "parameters.dropout.baseline: expected one of the values 0.1, 0.2, found 0.3",
    ),
    (
        "parameters:\n  units: {distribution: int_uniform, min: 1, max: 100000}",
        "parameters.units: int_uniform(min=1, max=100000) on a grid has 100000 values; "
        "at most 10000",
    ),
    (
        "parameters:\n  dropout: {distribution: q_uniform, min: 0, max: 1.05, q: 0.05}",
        "parameters.dropout: expected a number in [0, 1), found 1.0 in the grid of "
        "q_uniform(min=0, max=1.05, q=0.05)",
    ),
    (
        "metric: {name: val_acc, goal: up}",
        "metric.goal: expected one of maximize, minimize, found 'up'",
    ),
]

BAD_SPECS = [
    (
        "nme: demo",
        "nme: unknown key; allowed: name, description, task, method, metric, early_terminate, "
        "scheduler, parameters, run_cap, optuna, configs, model, data, train, budget, seed, "
        "repeats",
    ),
    ("name: '..'", "name: expected a directory name without '/', found '..'"),
    ("name: runs/a", "name: expected a directory name without '/', found 'runs/a'"),
    (
        "parameters:\n  learnin_rate: {values: [0.1]}",
        f"parameters.learnin_rate: unknown hyperparameter 'learnin_rate'; known: {KNOWN}",
    ),
    (
        "parameters:\n  learning_rate: {values: [0.001, fast]}",
        "parameters.learning_rate.values[1]: expected a number in (0, 1e+06], found 'fast'",
    ),
    (
        "parameters:\n  lr: {values: [0.1, -1e-3]}",
        "parameters.lr.values[1]: expected a number in (0, 1e+06], found '-1e-3'",
    ),
    (
        f"parameters:\n  learning_rate: {{values: [{HUGE}]}}",
        f"parameters.learning_rate.values[0]: expected a number in (0, 1e+06], found {HUGE}",
    ),
    (
        "parameters:\n  learning_rate: 1e400",
        "parameters.learning_rate: expected a number in (0, 1e+06], found '1e400'",
    ),
    (
        "parameters:\n  dropout: {values: [0.1, NaN, .nan]}",
        "parameters.dropout.values[1]: expected a number in [0, 1), found 'NaN'",
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
        "parameters:\n  dropout: {values: 0.1}",
        "parameters.dropout.values: expected a non-empty list, found 0.1",
    ),
    ("parameters: [lr]", "parameters: expected a mapping of hyperparameters, found ['lr']"),
    (
        "method: one-at-a-time",
        "method: expected one of grid, random, one_at_a_time, greedy, bayes, found 'one-at-a-time'",
    ),
    *DISTRIBUTION_SPECS,
    (
        "metric: {name: acc}",
        "metric.name: expected one of val_loss, val_accuracy, val_macro_f1, found 'acc'",
    ),
    (
        "metric: {name: val_loss, goal: down}",
        "metric.goal: expected one of maximize, minimize, found 'down'",
    ),
    ("metric: val_loss", "metric: expected a mapping, found 'val_loss'"),
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
        "train: {eval_every: 0}",
        "train.eval_every: expected epoch or an integer in [1, 1073741824], found 0",
    ),
    (
        "train: {epochs: 3, max_steps: 100}",
        "train.max_steps: a config's budget is epochs or max_steps, not both; remove one",
    ),
    (
        "train: {checkpoint_every: 0}",
        "train.checkpoint_every: expected null or an integer in [1, 100000], found 0",
    ),
    (
        "data: {rows: 5}",
        "data.rows: unknown key; allowed: name, source, seed, max_length, buckets, embedding, "
        "train_size, val_size, test_size, min_length, label_noise, labels, holdout, "
        "min_frequency, max_vocab_size, lowercase, skip_bad_lines, data_dir, train, val, test, "
        "file, split, format, text_column, label_column, header, tfds_data_dir",
    ),
    (
        "data: {name: wiki}",
        "data.name: expected one of synthetic, emotion, sst2, imdb, or data.train / data.file "
        "for your own files, found 'wiki'",
    ),
    (
        "train: {class_weights: [1, 0]}",
        "train.class_weights: expected none, balanced or a list of positive weights, one per "
        "class, found [1, 0]",
    ),
    (
        "data: {name: emotion, embedding: {trainable: [true, false]}}\n"
        "parameters:\n  embedding_trainable: {values: [true]}",
        "data.embedding.trainable: 'embedding_trainable' is set twice (data.embedding and "
        "model or parameters)",
    ),
    ("data: {min_length: 20, max_length: 10}", "data.min_length: 20 is above data.max_length 10"),
    ("data: {min_length: 2}", "data.min_length: expected at least 3, found 2"),
    ("data: {label_noise: 1.5}", "data.label_noise: expected a number in [0, 1], found 1.5"),
    ("- 1\n- 2", "expected a YAML mapping at the top level, found [1, 2]"),
    ("just a string", "expected a YAML mapping at the top level, found 'just a string'"),
    ("", "expected a YAML mapping at the top level, found None"),
    (
        "model: {units: 8}\nparameters:\n  hidden_size: {values: [4, 8]}",
        "parameters.hidden_size: 'hidden_size' is set twice (model, train or parameters)",
    ),
    (
        "parameters:\n  lr: {values: [0.1]}\n  learning_rate: 0.01",
        "parameters.learning_rate: 'learning_rate' is set twice (model, train or parameters)",
    ),
    (
        "train: {epochs: 3}\nparameters:\n  epochs: {values: [1, 2]}",
        "parameters.epochs: 'epochs' is set twice (model, train or parameters)",
    ),
    # Within model an alias and its canonical name used to be merged silently, last one winning.
    (
        "model: {units: 8, hidden_size: 16}",
        "model.hidden_size: 'hidden_size' is already set by model.units",
    ),
    (
        "model: {epochs: 3}\ntrain: {epochs: 5}",
        "train.epochs: 'epochs' is set twice (model and train)",
    ),
    (
        "model: {optimiser: adam}",
        f"model.optimiser: unknown hyperparameter 'optimiser'; known: {KNOWN}",
    ),
    (
        "model: {architecture: transformer}",
        "model.architecture: expected one of gru, lstm, rnn, cnn, or your own Flax module as "
        "'package.module:Class', found 'transformer'",
    ),
    ("model: {bidirectional: 1}", "model.bidirectional: expected true or false, found 1"),
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
        "parameters:\n  clip_norm: {values: [1.0, 0]}",
        "parameters.clip_norm.values[1]: expected null or a number in (0, 1e+09], found 0",
    ),
    (
        "budget: {max_population: 0}",
        "budget.max_population: expected auto or an integer in [1, 1048576], found 0",
    ),
    (
        "budget: {chunk: none}",
        "budget.chunk: expected auto, all or an integer in [1, 1048576], found 'none'",
    ),
    # The machine's device count is checked when the sweep runs (test_sharding.py).
    (
        "budget: {devices: all}",
        "budget.devices: expected auto or an integer in [1, 1048576], found 'all'",
    ),
    (
        "budget: {max_memory_gb: -1}",
        "budget.max_memory_gb: expected null or a number in (0, 1e+06], found -1",
    ),
    (
        "parameters:\n  epochs: 2.5",
        "parameters.epochs: expected an integer in [1, 100000], found 2.5",
    ),
    ("seed: -1", "seed: expected an integer in [0, 2147483647], found -1"),
    (f"seed: {HUGE}", f"seed: expected an integer in [0, 2147483647], found {HUGE}"),
]


@pytest.mark.parametrize("text,message", BAD_SPECS, ids=[m[:40] for _, m in BAD_SPECS])
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
    with pytest.raises(SpecError) as error:
        load_spec(path)
    message = str(error.value)
    assert message.startswith(f"{path}: line 3: invalid YAML: ")
    assert "\n" not in message


def test_missing_file(tmp_path):
    path = tmp_path / "nowhere.yaml"
    with pytest.raises(SpecError) as error:
        load_spec(path)
    assert str(error.value) == f"{path}: no such file"


def test_aliases_yaml_exponents_and_shorthand(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text(
        textwrap.dedent("""
        parameters:
          lr: {values: [1e-3, 3e-4, 0.001]}   # PyYAML reads 1e-3 as a string
          units: {values: [32, 64]}
          dropout: 0.25
          cell: {value: LSTM}
        model: {embed_dim: 16, clipnorm: 5e-1}
        train: {epochs: 3}
    """)
    )
    assert yaml.safe_load(path.read_text())["parameters"]["lr"]["values"][0] == "1e-3"
    spec = load_spec(path)
    assert spec.name == "ok"
    # 1e-3 and 0.001 are the same value: merged, spec order kept.
    assert spec.parameters == {"learning_rate": [0.001, 0.0003], "hidden_size": [32, 64]}
    assert all(isinstance(v, float) for v in spec.parameters["learning_rate"])
    assert spec.fixed == {
        "embedding_dim": 16,
        "clip_norm": 0.5,
        "epochs": 3,
        "dropout": 0.25,
        "architecture": "lstm",
    }
    assert spec.metric == "val_accuracy" and spec.goal == "maximize"
    assert spec.train.early_stopping.monitor == "val_accuracy"
    assert spec.notices == ()


def test_minimize_is_the_default_goal_for_loss():
    spec = parse_spec({"metric": {"name": "val_loss"}}, "loss.yaml")
    assert (spec.metric, spec.goal, spec.name) == ("val_loss", "minimize", "loss")


@pytest.mark.parametrize("method", ["random", "bayes"])
def test_missing_run_cap_draws_a_stated_default_like_an_unbounded_wandb_sweep(method):
    spec = parse_spec(
        {"method": method, "parameters": {"dropout": {"min": 0.0, "max": 0.5}}}, "s.yaml"
    )
    assert spec.run_cap == 32
    assert spec.notices == (
        f"s.yaml: run_cap: missing; method {method} draws 32 configs (set run_cap, or add "
        "more later with `jaxtune resume DIR --n-more N`)",
    )
    capped = parse_spec({"method": method, "budget": {"max_configs": 5}}, "s.yaml")
    assert capped.run_cap is None and capped.notices == ()  # budget.max_configs is the count


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
    assert spec.fixed == {"optimizer": "sgd"}
    assert spec.metric == "val_loss" and spec.goal == "minimize"
    assert spec.notices == tuple(
        f"wandb.yaml: {key}: ignored (jaxtune runs the sweep itself)"
        for key in ("program", "command", "entity", "project")
    )


# Keys a spec really uses, so fuzzed documents get past "unknown key" into every section.
KEYS = sorted(
    {
        *TOP_LEVEL,
        *ALIASES,
        *(f.name for f in dataclasses.fields(SyntheticConfig)),
        *("value", "values", "goal", "epochs", "early_stopping", "eval_batch_size", "max_loss"),
        *("monitor", "patience", "min_delta", "restore_best", "max_population", "max_configs"),
        "max_memory_gb",
        "chunk",
        "checkpoint_every",
        "eval_every",
        "max_steps",
        "time_limit",
        *("program", "command", "project", "entity"),
        *("distribution", "min", "max", "q", "mu", "sigma", "probabilities", "baseline"),
    }
)
WORDS = [
    *("1e-3", "gru", "LSTM", "cnn", "adam", "val_loss", "maximize", "synthetic", "yes"),
    *METHODS,
    *DISTRIBUTIONS,
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([10**400, -(10**400), 2**63, 0, 1, 3]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.sampled_from(WORDS + ["nan", "inf", "1e400", "", " "]),
)
keys = st.one_of(st.sampled_from(KEYS), st.text(max_size=6), st.integers(), st.booleans())
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(keys, children, max_size=5),
    ),
    max_leaves=16,
)
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def accepted_or_one_spec_error(document):
    try:
        spec = parse_spec(document, "fuzz.yaml")
    except SpecError as error:
        assert str(error).startswith("fuzz.yaml: ") and "\n" not in str(error)
    else:
        swept = set(spec.parameters) | set(spec.distributions)
        assert set(spec.fixed) | swept <= set(HPARAMS)
        assert not set(spec.fixed) & swept and not set(spec.parameters) & set(spec.distributions)


@FUZZ
@given(documents)
def test_fuzzed_documents_are_accepted_or_one_spec_error(document):
    accepted_or_one_spec_error(document)


@FUZZ
@given(st.dictionaries(st.sampled_from(KEYS), documents, max_size=6))
def test_fuzzed_sections_are_accepted_or_one_spec_error(document):
    accepted_or_one_spec_error(document)


@FUZZ
@given(
    st.sampled_from(sorted(ALIASES)),
    documents,
    st.sampled_from(["model", "parameters", "parameters-value", "parameters-values"]),
)
def test_fuzzed_hparam_values_are_accepted_or_one_spec_error(name, value, where):
    if where == "model":
        document = {"model": {name: value}}
    elif where == "parameters":
        document = {"parameters": {name: value}}
    elif where == "parameters-value":
        document = {"parameters": {name: {"value": value}}}
    else:
        document = {"parameters": {name: {"values": value}}}
    accepted_or_one_spec_error(document)


@FUZZ
@given(st.sampled_from(sorted(HPARAMS)), st.lists(scalars | st.lists(scalars, max_size=3)))
def test_fuzzed_value_lists_name_the_bad_index(name, values):
    """A rejected list names the first value its hyperparameter does not allow."""
    document = {"parameters": {name: {"values": values}}}
    try:
        spec = parse_spec(document, "fuzz.yaml")
    except SpecError as error:
        message = str(error)
        if not values:
            assert (
                message
                == f"fuzz.yaml: parameters.{name}.values: expected a non-empty list, found []"
            )
            return
        bad = next((i for i, v in enumerate(values) if not _allowed(name, v)), None)
        if bad is None:  # every value parses; max_length is also checked against the data
            assert name == "max_length"
            assert message.startswith(f"fuzz.yaml: parameters.{name}: found ")
            assert "above data.max_length 32" in message
            return
        assert message.startswith(f"fuzz.yaml: parameters.{name}.values[{bad}]: expected ")
        assert message.endswith(f", found {values[bad]!r}")
    else:
        assert spec.parameters[name] == list(dict.fromkeys(HPARAMS[name].parse(v) for v in values))


def _allowed(name, value) -> bool:
    try:
        HPARAMS[name].parse(value)
    except ValueError:
        return False
    return True


numbers = st.one_of(
    st.integers(-(10**6), 10**6),
    st.floats(-1e6, 1e6, allow_nan=False),
    st.sampled_from([0, 1, 0.5, 1e-3, -1, 10**400, "1e-3", "nan", True]),
)
entries = st.fixed_dictionaries(
    {"distribution": st.sampled_from(DISTRIBUTIONS)},
    optional={key: numbers for key in ("min", "max", "q", "mu", "sigma")},
)


@FUZZ
@given(
    st.sampled_from(sorted(HPARAMS)),
    entries | st.dictionaries(st.sampled_from(["min", "max"]), numbers),
)
def test_fuzzed_distributions_draw_only_values_their_hparam_allows(name, entry):
    """Accepted or one line; when accepted, every drawn value passes the hparam's check."""
    document = {"method": "random", "run_cap": 5, "parameters": {name: entry}}
    try:
        trials, _ = sample(parse_spec(document, "fuzz.yaml"))
    except SpecError as error:
        assert str(error).startswith("fuzz.yaml: ") and "\n" not in str(error)
        return
    for trial in trials:
        value = trial.config[name]
        assert HPARAMS[name].parse(value) == value


def test_readme_spec_example_parses_and_plans():
    """The complete example in README's "The spec" stays a valid spec."""
    from pathlib import Path

    from jaxtune.plan import plan_populations
    from jaxtune.search.samplers import sample

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme[readme.index("### The spec") :]
    start = section.index("```yaml\n") + len("```yaml\n")
    document = yaml.safe_load(section[start : section.index("```", start)])
    spec = parse_spec(document, "README.md")
    assert spec.method == "grid" and spec.parameters
    trials, _ = sample(spec)
    assert plan_populations(trials, spec.budget.resolved_max_population("cpu"))
    assert spec.train.checkpoint_every == 1 and spec.budget.time_limit is None
