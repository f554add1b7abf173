"""Per-layer hidden sizes: `units: [128, 64]` is two stacked layers, bottom to top."""

from __future__ import annotations

import json
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import optuna
import pytest

from jaxtune.bench.flops import train_flops_per_step
from jaxtune.memory import activation_floats, estimate_memory
from jaxtune.models import build_classifier
from jaxtune.models.cells import NUM_GATES
from jaxtune.plan import plan_populations
from jaxtune.refine import refine_spec
from jaxtune.results import varying_hparams, write_results
from jaxtune.search.bayes import decode, optuna_distributions
from jaxtune.search.greedy import GreedySearch
from jaxtune.search.samplers import sample
from jaxtune.space import complete_config, static_signature
from jaxtune.spec import SpecError, load_spec, parse_spec
from jaxtune.study import categorical_distributions, frozen_trial
from jaxtune.values import SpaceError

VOCAB, CLASSES, EMBED = 50, 3, 16
UNITS = "an integer in [1, 4096] or a list of 1 to 8 of them (one per layer)"
CONFLICT = (
    "found {found}, but hidden_size [128, 64] sets 2 layers; allowed: 2, or no num_layers "
    "(a list of sizes sets the number of layers)"
)


def write_spec(tmp_path, text):
    path = tmp_path / "spec.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_values_list_of_sizes_is_one_choice_per_entry(tmp_path):
    path = write_spec(
        tmp_path,
        """
        model: {architecture: lstm, embedding_dim: 16}
        parameters:
          units: {values: [64, [128, 64]]}
          learning_rate: {values: [0.001, 0.01]}
        """,
    )
    spec = load_spec(path)
    assert spec.parameters["hidden_size"] == [64, (128, 64)]  # two choices, not one list
    trials, merged = sample(spec)
    assert merged == 0
    layers = [(t.config["hidden_size"], t.config["num_layers"]) for t in trials]
    assert layers == [(64, 1), (64, 1), ((128, 64), 2), ((128, 64), 2)]


def test_fixed_list_and_aliases(tmp_path):
    spec = load_spec(write_spec(tmp_path, "model: {cell: gru, units: [128, 64]}\n"))
    assert spec.fixed["hidden_size"] == (128, 64)
    [trial], _ = sample(spec)
    assert (trial.config["hidden_size"], trial.config["num_layers"]) == ((128, 64), 2)
    # An integer with num_layers keeps meaning that many layers of that size.
    spec = load_spec(write_spec(tmp_path, "model: {hidden_size: 32, num_layers: 3}\n"))
    [trial], _ = sample(spec)
    assert (trial.config["hidden_size"], trial.config["num_layers"]) == (32, 3)
    # An explicit num_layers that agrees with the list is fine.
    spec = load_spec(write_spec(tmp_path, "parameters:\n  units: [8, 4, 2]\n  layers: 3\n"))
    [trial], _ = sample(spec)
    assert (trial.config["hidden_size"], trial.config["num_layers"]) == ((8, 4, 2), 3)


def test_random_and_categorical_draws_keep_lists_whole():
    document = {
        "method": "random",
        "run_cap": 12,
        "parameters": {
            "units": {"values": [[128, 64], 32], "probabilities": [0.5, 0.5]},
            "dropout": {"min": 0.0, "max": 0.5},
        },
    }
    trials, _ = sample(parse_spec(document, "r.yaml"))
    seen = {t.config["hidden_size"] for t in trials}
    assert seen == {(128, 64), 32}
    for trial in trials:
        assert trial.config["num_layers"] == (2 if trial.config["hidden_size"] != 32 else 1)


def test_json_lists_complete_to_the_same_config():
    """results.jsonl and Optuna give lists; the config (and its signature) is the same."""
    from_json = complete_config({"architecture": "lstm", "hidden_size": [128, 64]})
    from_spec = complete_config({"architecture": "lstm", "hidden_size": (128, 64)})
    assert from_json == from_spec and from_json["hidden_size"] == (128, 64)
    assert static_signature(from_json) == static_signature(from_spec)
    assert complete_config(from_spec) == from_spec  # completing twice changes nothing


@pytest.mark.parametrize("cell", ["gru", "lstm", "rnn"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bidi"])
def test_per_layer_param_shapes(cell, bidirectional):
    config = complete_config(
        {
            "architecture": cell,
            "hidden_size": [128, 64],
            "embedding_dim": EMBED,
            "bidirectional": bidirectional,
        }
    )
    model = build_classifier(config, VOCAB, CLASSES)
    params = jax.eval_shape(
        lambda key: model.init(key, jnp.zeros((2, 5), jnp.int32), jnp.ones((2,), jnp.int32)),
        jax.random.key(0),
    )["params"]
    gates = NUM_GATES[cell]
    directions = 2 if bidirectional else 1
    encoder = params["encoder"]
    expected_layers = {f"layer{i}_{d}" for i in (0, 1) for d in ("fwd", "bwd")[:directions]}
    assert set(encoder) == expected_layers
    for direction in ("fwd", "bwd")[:directions]:
        bottom, top = encoder[f"layer0_{direction}"], encoder[f"layer1_{direction}"]
        assert bottom["w_in"].shape == (EMBED, gates * 128)
        assert bottom["w_h"].shape == (128, gates * 128)
        assert bottom["b_in"].shape == (gates * 128,)
        assert top["w_in"].shape == (128 * directions, gates * 64)  # the layer below's output
        assert top["w_h"].shape == (64, gates * 64)
        assert top["b_in"].shape == (gates * 64,)
        if cell == "gru":
            assert (bottom["b_hn"].shape, top["b_hn"].shape) == ((128,), (64,))
    assert params["head"]["kernel"].shape == (64 * directions, CLASSES)  # the top layer's state


def test_forward_pass_gives_logits_from_the_top_layer():
    config = complete_config({"architecture": "lstm", "hidden_size": [12, 6], "embedding_dim": 8})
    model = build_classifier(config, VOCAB, CLASSES)
    tokens = jnp.array([[3, 4, 5, 0], [6, 7, 0, 0]], jnp.int32)
    lengths = jnp.array([3, 2], jnp.int32)
    variables = model.init(jax.random.key(0), tokens, lengths)
    logits = model.apply(variables, tokens, lengths)
    assert logits.shape == (2, CLASSES) and np.isfinite(np.asarray(logits)).all()


def test_stacked_and_single_configs_land_in_different_static_groups(tmp_path):
    path = write_spec(
        tmp_path,
        """
        model: {architecture: lstm, embedding_dim: 16}
        parameters:
          units: {values: [64, [128, 64]]}
          dropout: {values: [0.0, 0.3]}
        """,
    )
    trials, _ = sample(load_spec(path))
    plans = plan_populations(trials, 64)
    assert [p.group for p in plans] == [0, 1]
    assert [{t.config["hidden_size"] for t in p.trials} for p in plans] == [{64}, {(128, 64)}]
    assert all(p.width == 2 for p in plans)  # dropout rides along inside each program
    # [128, 64] is not [64, 128]: the order of the layers is part of the program.
    flipped = complete_config({"architecture": "lstm", "hidden_size": (64, 128)})
    assert static_signature(flipped) != static_signature(plans[1].trials[0].config)


def count_params(config) -> int:
    model = build_classifier(config, VOCAB, CLASSES)
    tokens, lengths = jnp.zeros((1, 8), jnp.int32), jnp.ones((1,), jnp.int32)
    params = model.init(jax.random.key(0), tokens, lengths)["params"]
    return sum(int(np.prod(leaf.shape)) for leaf in jax.tree.leaves(params))


@pytest.mark.parametrize("cell", ["gru", "lstm"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bidi"])
def test_memory_estimate_counts_every_layer(cell, bidirectional):
    config = complete_config(
        {
            "architecture": cell,
            "hidden_size": [128, 64],
            "embedding_dim": EMBED,
            "bidirectional": bidirectional,
        }
    )
    estimate = estimate_memory(config, vocab_size=VOCAB, num_classes=CLASSES, seq_len=8)
    real = count_params(config)
    assert estimate.params == 4 * real
    # By hand: embedding, each layer direction's w_in, b_in, w_h (+ b_hn), the head.
    directions = 2 if bidirectional else 1
    gates = NUM_GATES[cell]

    def layer(inputs, hidden):
        return (
            inputs * gates * hidden
            + gates * hidden
            + hidden * gates * hidden
            + (hidden if cell == "gru" else 0)
        )

    by_hand = (
        VOCAB * EMBED
        + directions * (layer(EMBED, 128) + layer(128 * directions, 64))
        + 64 * directions * CLASSES
        + CLASSES
    )
    assert real == by_hand
    # The top layer alone, or 128 everywhere, would be a different (wrong) count.
    for other in (64, 128):
        wrong = complete_config({**config, "hidden_size": other, "num_layers": 2})
        assert estimate_memory(wrong, vocab_size=VOCAB, num_classes=CLASSES, seq_len=8) != estimate


def test_activation_and_flop_counts_follow_each_layer_size():
    stacked = complete_config({"architecture": "lstm", "hidden_size": [128, 64], "batch_size": 4})
    embed = stacked["embedding_dim"]
    per_token = 2 * 4 * 128 * (embed + 128) + 2 * 4 * 64 * (128 + 64)
    forward = per_token * 4 * 10 + 2 * 64 * CLASSES * 4
    assert train_flops_per_step(stacked, 10, CLASSES) == 3 * forward + 4 * 10 * embed
    tokens = 4 * 10
    floats = 2 * tokens * embed
    for inputs, hidden in ((embed, 128), (128, 64)):
        floats += tokens * (2 * 4 * hidden + 3 * hidden) + tokens * inputs
    assert activation_floats(stacked, 10) == floats


BAD_SPECS = [
    ("model: {units: []}", f"model.units: expected {UNITS}, found []"),
    ("model: {hidden_size: [128, 0]}", f"model.hidden_size: expected {UNITS}, found [128, 0]"),
    (
        "parameters:\n  units: {values: [64, [128, -64]]}",
        f"parameters.units.values[1]: expected {UNITS}, found [128, -64]",
    ),
    (
        "parameters:\n  units: {values: [[]]}",
        f"parameters.units.values[0]: expected {UNITS}, found []",
    ),
    (
        "model: {units: [1, 2, 3, 4, 5, 6, 7, 8, 9]}",
        f"model.units: expected {UNITS}, found [1, 2, 3, 4, 5, 6, 7, 8, 9]",
    ),
    ("model: {units: [64, 32.5]}", f"model.units: expected {UNITS}, found [64, 32.5]"),
    ("model: {units: [128, 64], layers: 1}", "model.layers: " + CONFLICT.format(found=1)),
    (
        "model: {num_layers: 3}\nparameters:\n  units: {values: [64, [128, 64]]}",
        "model.num_layers: " + CONFLICT.format(found=3),
    ),
    (
        "parameters:\n  units: {values: [64, [128, 64]]}\n  num_layers: {values: [2, 3]}",
        "parameters.num_layers: " + CONFLICT.format(found=3),
    ),
    (
        "method: random\nrun_cap: 4\nparameters:\n  units: [128, 64]\n"
        "  num_layers: {min: 1, max: 3}",
        "parameters.num_layers: " + CONFLICT.format(found="int_uniform(min=1, max=3)"),
    ),
    (
        "model: {units: [128, 64]}\nconfigs:\n  deep: {layers: 4}",
        "configs.deep.layers: " + CONFLICT.format(found=4),
    ),
]


@pytest.mark.parametrize("text,message", BAD_SPECS, ids=[m for _, m in BAD_SPECS])
def test_bad_layer_sizes_give_one_exact_line(tmp_path, text, message):
    path = write_spec(tmp_path, text + "\n")
    with pytest.raises(SpecError) as error:
        load_spec(path)
    assert str(error.value) == f"{path}: {message}"


def test_complete_config_refuses_a_conflicting_num_layers():
    with pytest.raises(SpaceError) as error:
        complete_config({"hidden_size": [128, 64], "num_layers": 1})
    assert str(error.value) == "num_layers: " + CONFLICT.format(found=1)


def test_greedy_moving_from_a_list_to_an_integer_drops_the_implied_layers(tmp_path):
    path = write_spec(
        tmp_path,
        """
        method: greedy
        parameters:
          units: {values: [[128, 64], 32]}
          dropout: {values: [0.0, 0.5]}
        """,
    )
    search = GreedySearch.of(load_spec(path))
    members, _ = search.iteration("hidden_size")
    assert [(t.config["hidden_size"], t.config["num_layers"]) for t in members] == [
        ((128, 64), 2),
        (32, 1),  # not 2 layers of 32 carried over from the list
    ]
    scores = (0.5, 0.9)  # the single layer of 32 wins and is adopted
    records = {
        t.trial_id: {"best": {"val_accuracy": s}} for t, s in zip(members, scores, strict=True)
    }
    search.conclude("hidden_size", members, records)
    members, _ = search.iteration("dropout")
    assert {(t.config["hidden_size"], t.config["num_layers"]) for t in members} == {(32, 1)}


def test_study_and_bayes_record_lists_as_json_choices(tmp_path):
    spec = parse_spec(
        {"model": {"architecture": "lstm"}, "parameters": {"units": {"values": [64, [128, 64]]}}},
        "s.yaml",
    )
    distributions = categorical_distributions(spec.parameters)
    assert distributions["hidden_size"].choices == (64, "[128, 64]")
    assert optuna_distributions(spec) == distributions
    trials, _ = sample(spec)
    study = optuna.create_study(direction="maximize")
    for trial in trials:
        hparams = json.loads(json.dumps(trial.config))  # as results.jsonl gives it back
        record = {
            "trial_id": trial.trial_id,
            "status": "completed",
            "status_reason": "ran 1 epoch",
            "best_epoch": 1,
            "epochs_run": 1,
            "group": trial.trial_id,
            "hparams": hparams,
            "history": [{"epoch": 1, "val_accuracy": 0.5 + trial.trial_id / 10}],
            "best": {"val_accuracy": 0.5 + trial.trial_id / 10},
        }
        study.add_trial(frozen_trial(record, "val_accuracy", distributions))
    assert [t.params["hidden_size"] for t in study.trials] == [64, "[128, 64]"]
    # Method bayes: an asked choice decodes back to the config it stands for.
    values = decode(study.best_trial.params, distributions)
    assert complete_config(values)["hidden_size"] == (128, 64)
    assert complete_config(values)["num_layers"] == 2


def test_refine_narrows_to_lists_that_parse_back(tmp_path):
    (tmp_path / "spec.yaml").write_text(
        textwrap.dedent(
            """
            name: stacks
            model: {architecture: lstm}
            parameters:
              units: {values: [32, 64, [128, 64]]}
              learning_rate: {values: [0.001, 0.01]}
            """
        )
    )
    scores = {(32, 0.001): 0.7, (64, 0.001): 0.8, ((128, 64), 0.001): 0.9}
    scores.update({(32, 0.01): 0.6, (64, 0.01): 0.85, ((128, 64), 0.01): 0.88})
    records = [
        {
            "trial_id": i,
            "hparams": json.loads(
                json.dumps(complete_config({"hidden_size": h, "learning_rate": lr}))
            ),
            "best": {"val_accuracy": score},
        }
        for i, ((h, lr), score) in enumerate(scores.items())
    ]
    write_results(tmp_path, records)
    refined, found = refine_spec(tmp_path, top=1)
    assert found[0].name == "hidden_size" and found[0].best == [128, 64]
    assert refined["parameters"] == {"hidden_size": {"values": [[128, 64], 64]}}
    spec = parse_spec(refined, "refine.yaml")
    trials, _ = sample(spec)
    assert [(t.config["hidden_size"], t.config["num_layers"]) for t in trials] == [
        ((128, 64), 2),
        (64, 1),
    ]


def test_num_layers_implied_by_a_list_is_not_a_varying_column():
    def hparams(**values):
        return {"hparams": json.loads(json.dumps(complete_config(values)))}

    implied = [hparams(hidden_size=64), hparams(hidden_size=[128, 64])]
    assert varying_hparams(implied) == ["hidden_size"]
    swept = [*implied, hparams(hidden_size=64, num_layers=3)]
    assert varying_hparams(swept) == ["hidden_size", "num_layers"]
