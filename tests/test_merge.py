"""Merged programs (merge.py): configs of different batch sizes and optimizer kinds in one
population, each equal to the same config trained alone.

"Alone" is the config's own plain program (no variants, its kind's optax optimizer) on
the population's stream: the epoch's minibatches cut at the population's smallest batch
size and joined `batch_size / smallest` at a time (support.train's `regroup`). 160
examples cut at 12 leave a last micro-batch of 4, so the last step of every batch size
is a partial one.
"""

import jax
import numpy as np
import pytest
from support import configs, select, sweep_each_merge, tiny_dataset, train
from test_population import ARCHITECTURES

from jaxtune.merge import batch_sets, merge_policy, split_group
from jaxtune.population.factory import make_population
from jaxtune.population.program import Variant, program_for
from jaxtune.population.shapes import corner_slice
from jaxtune.population.status import EarlyStopping, Status

RTOL, ATOL = 1e-5, 1e-6

MIXED = [
    {"batch_size": 12, "optimizer": "adam", "learning_rate": 3e-3},
    {"batch_size": 24, "optimizer": "rmsprop", "learning_rate": 1e-3, "momentum": 0.5},
    {"batch_size": 48, "optimizer": "sgd", "learning_rate": 0.1, "nesterov": True, "momentum": 0.9},
    {"batch_size": 24, "optimizer": "adam", "learning_rate": 1e-2, "dropout": 0.3},
    {"batch_size": 12, "optimizer": "sgd", "learning_rate": 1e4},  # diverges: FAILED
]
# Widths too: recurrent hidden sizes 8, 12, 20; CNN filters 4, 6, 9.
WIDE = {"hidden_size": 20, "num_filters": 9}
NARROW = {"hidden_size": 8, "num_filters": 4}
MIXED_WIDTHS = [{**MIXED[0], **NARROW}, {**MIXED[1], **WIDE}, *MIXED[2:4], {**MIXED[4], **WIDE}]
ALL_AT_ONCE = merge_policy("all", chunk=None)
ONE_AT_A_TIME = merge_policy("auto", chunk=1)


def variants_of(population, policy=ONE_AT_A_TIME):
    ((members, variants),) = split_group(population, policy)
    assert members == list(range(len(population)))
    return variants


def assert_each_equals_alone(population, state, history, epochs=2, native=False):
    """Each config of the trained population against its own plain program on the same
    stream; `native`: the population stores params in the corner of the widest."""
    micro = min(c["batch_size"] for c in population)
    programs = {}  # one plain program per kind and width, as the unmerged sweep compiles
    for k, config in enumerate(population):
        kind = (
            config["optimizer"],
            config["nesterov"],
            config["hidden_size"],
            config["num_filters"],
        )
        if kind not in programs:
            program = program_for(config, tiny_dataset())
            programs[kind] = make_population(program, EarlyStopping(), devices=1)
        plain = programs[kind]
        alone, alone_history = train(
            [config],
            epochs=epochs,
            trial_ids=[k],
            population=plain,
            regroup=config["batch_size"] // micro,
        )
        assert int(state.life.status[k]) == int(alone.life.status[0]), f"config {k}"
        assert int(state.train.step[k]) == int(alone.train.step[0]), f"config {k}"
        for epoch in range(epochs):
            for name in ("train_loss", "val_loss"):
                np.testing.assert_allclose(
                    history[epoch][name][k], alone_history[epoch][name][0],
                    rtol=RTOL, atol=ATOL, err_msg=f"config {k} epoch {epoch} {name}",
                )  # fmt: skip
        own = select(alone.train.params, 0)
        params = select(state.train.params, k)
        if native:
            params = corner_slice(
                params, jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype), own)
            )
        jax.tree.map(
            lambda a, b: np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL), params, own
        )


# The SimpleRNN runs the same merged-program code as the GRU and LSTM (one cell module):
# it is checked with -m slow, which keeps the default suite under 15 minutes.
@pytest.mark.parametrize(
    "base",
    [
        pytest.param(b, marks=pytest.mark.slow) if b["architecture"] == "rnn" else b
        for b in ARCHITECTURES[:4]
    ],
    ids=lambda b: b["architecture"],
)
def test_each_config_of_a_merged_population_equals_it_trained_alone(base):
    """Batch sizes, optimizer kinds and widths in one program, one config diverging."""
    population = configs(base, MIXED_WIDTHS)
    variants = variants_of(population)
    assert sorted(v.batch_size for v in variants) == [12, 12, 24, 24, 48]
    # The width this architecture reads (a CNN's num_filters, a recurrent hidden_size).
    width = "num_filters" if base["architecture"] == "cnn" else "hidden_size"
    assert {name for v in variants for name, _ in v.widths} == {width}
    state, history = train(population, epochs=2, chunk=1, variants=variants)
    # Each config's own optimizer steps: 160 examples in batches of 12, 24, 48.
    assert [int(s) for s in state.train.step[:4]] == [2 * 14, 2 * 7, 2 * 4, 2 * 7]
    # The diverging config failed alone; its neighbours never saw it.
    assert int(state.life.status[4]) == Status.FAILED
    assert_each_equals_alone(population, state, history, native=True)
    assert len(set(np.round(history[-1]["train_loss"][:4], 6))) == 4
    # Every config is stored at the widest shapes; a narrower one's padding is still
    # exactly zero after training.
    program = program_for(population[0], tiny_dataset(), variants=variants)
    widest = program.widest_params()
    assert jax.tree.map(lambda leaf: leaf.shape[1:], state.train.params) == jax.tree.map(
        lambda s: s.shape, widest
    )
    for k in range(len(population)):
        native = program.native_params(variants[int(state.train.hparams["variant"][k])])
        for big, small in zip(
            jax.tree.leaves(select(state.train.params, k)), jax.tree.leaves(native), strict=True
        ):
            padding = np.ones(big.shape, bool)
            padding[tuple(slice(0, d) for d in small.shape)] = False
            assert not np.any(np.asarray(big)[padding]), f"config {k}"


def test_vmapped_merged_population_runs_every_variant_and_keeps_each_configs_own():
    population = configs(ARCHITECTURES[0], MIXED_WIDTHS[:4])
    variants = variants_of(population, ALL_AT_ONCE)  # the union update, all else merged
    assert {v.optimizer for v in variants} == {None}
    state, history = train(population, epochs=2, chunk=None, variants=variants)
    assert_each_equals_alone(population, state, history, native=True)


def test_a_merged_program_compiles_once_whatever_its_configs_run(compile_counter):
    base = ARCHITECTURES[0]
    first = configs(base, MIXED[:4])
    variants = variants_of(first)
    # The same variants, assigned to other configs with other values.
    second = configs(
        base,
        [
            {"batch_size": 48, "optimizer": "sgd", "nesterov": True, "learning_rate": 0.05},
            {"batch_size": 12, "optimizer": "adam", "learning_rate": 1e-4},
            {"batch_size": 24, "optimizer": "adam", "learning_rate": 5e-3, "dropout": 0.1},
            {"batch_size": 24, "optimizer": "rmsprop", "learning_rate": 3e-3, "momentum": 0.0},
        ],
    )
    assert variants_of(second) == variants
    program = program_for(first[0], tiny_dataset(), variants=variants)
    population = make_population(program, EarlyStopping(), chunk=1)
    train(first, epochs=1, population=population, variants=variants)
    compiled = len(compile_counter)
    train(second, epochs=1, population=population, variants=variants)
    assert len(compile_counter) == compiled


def test_batch_sizes_share_a_stream_when_each_is_the_smallest_times_a_power_of_two():
    assert batch_sets([32, 64, 128, 16]) == [(16, 32, 64, 128)]
    assert batch_sets([16, 48, 32]) == [(16, 32), (48,)]  # 48 = 3 x 16
    assert batch_sets([8, 256]) == [(8,), (256,)]  # 32 steps of 8 do not fit a 16-step block
    assert batch_sets([8, 256], block_steps=32) == [(8, 256)]


def test_split_group_gives_plain_programs_where_nothing_branches():
    same = [{"batch_size": 32, "optimizer": "adam", "nesterov": False}] * 3
    assert split_group(same, ONE_AT_A_TIME) == [([0, 1, 2], ())]
    mixed = [
        {"batch_size": 32, "optimizer": "adam", "nesterov": False},
        {"batch_size": 48, "optimizer": "adam", "nesterov": False},
        {"batch_size": 16, "optimizer": "sgd", "nesterov": True},
    ]
    assert split_group(mixed, ONE_AT_A_TIME) == [
        ([0, 2], (Variant(16, "sgd", True), Variant(32, "adam"))),
        ([1], ()),
    ]
    # Vmapped, kinds share the union update; one batch size alone still needs no branch.
    assert split_group(mixed, ALL_AT_ONCE) == [
        ([0, 2], (Variant(16, None), Variant(32, None))),
        ([1], (Variant(48, None),)),
    ]


BATCH, KINDS, WIDTHS = ("batch_size",), ("optimizer", "nesterov"), ("hidden_size", "num_filters")


@pytest.mark.parametrize(
    "mode, chunk, options, merged, reason",
    [
        ("none", 1, {}, (), "budget.merge none"),
        ("auto", 1, {}, BATCH + KINDS + WIDTHS, "own branch"),
        ("auto", None, {}, (), "every variant would run for every config"),
        ("all", None, {}, BATCH + KINDS + WIDTHS, "every variant runs"),
        ("all", 1, {"embedding_update": "lazy"}, (), "lazy embedding update"),
    ],
)
def test_the_policy_merges_only_what_the_backend_runs_at_its_own_cost(
    mode, chunk, options, merged, reason
):
    policy = merge_policy(mode, chunk, **options)
    assert policy.names == merged
    assert reason in policy.reason


def test_a_sweep_merges_batch_sizes_and_widths_and_the_smallest_batch_keeps_its_stream(tmp_path):
    import json

    from typer.testing import CliRunner

    from jaxtune.cli import app

    spec = {
        "name": "merge",
        "seed": 0,
        "method": "grid",
        "data": {"train_size": 200, "val_size": 64, "test_size": 64, "max_length": 12},
        "model": {"architecture": "gru", "embedding_dim": 8},
        "train": {"epochs": 2},
        "parameters": {
            "batch_size": {"values": [12, 48]},
            "hidden_size": {"values": [8, 12]},
        },
    }
    records, outputs = sweep_each_merge(tmp_path, spec, ("none", "auto"))
    assert "budget.merge auto: 4 static group(s) -> 1 program(s)" in outputs["auto"]
    assert "hidden_size=8/12" in outputs["auto"] and "batch_size=12/48" in outputs["auto"]
    assert len({r["group"] for r in records["none"]}) == 4
    assert len({r["group"] for r in records["auto"]}) == 1
    for apart, merged in zip(records["none"], records["auto"], strict=True):
        assert apart["hparams"] == merged["hparams"]
        assert merged["status"] == "completed"
        steps = [h["step"] for h in merged["history"]]
        if merged["hparams"]["batch_size"] == 12:  # the stream's own batch size: unchanged
            assert steps == [h["step"] for h in apart["history"]]
            for a, b in zip(apart["history"], merged["history"], strict=True):
                np.testing.assert_allclose(a["train_loss"], b["train_loss"], rtol=RTOL, atol=ATOL)
                np.testing.assert_allclose(a["val_loss"], b["val_loss"], rtol=RTOL, atol=ATOL)
        else:  # its own steps: a step is batch_size / 12 of the stream's
            smallest = next(r for r in records["auto"] if r["hparams"]["batch_size"] == 12)[
                "history"
            ]
            ratio = merged["hparams"]["batch_size"] // 12
            assert all(
                -(-s // ratio) <= o < s
                for s, o in zip([h["step"] for h in smallest], steps, strict=True)
            )
    # A narrow config's best params come back at its own width: final evaluates each, and
    # a config of the stream's own batch size scores on test as it does unmerged.
    finals = {}
    for merge in ("none", "auto"):
        result = CliRunner().invoke(app, ["final", str(tmp_path / merge), "--top", "4"])
        assert result.exit_code == 0, result.output
        top = json.loads((tmp_path / merge / "final.json").read_text())["top"]
        finals[merge] = {f["trial_id"]: f["test_loss"] for f in top}
    assert set(finals["auto"]) == {r["trial_id"] for r in records["auto"]}
    for record in records["auto"]:
        if record["hparams"]["batch_size"] == 12:
            trial = record["trial_id"]
            np.testing.assert_allclose(finals["auto"][trial], finals["none"][trial], rtol=RTOL)


@pytest.mark.parametrize(
    "path, unmerged",
    [
        ("experiments/emotion_gru_one_at_a_time.yaml", 10),
        ("benchmarks/merge/emotion_random_64.yaml", 18),
    ],
)
def test_the_studies_of_issue_34_plan_as_one_program(path, unmerged):
    from pathlib import Path

    from jaxtune.plan import plan_populations, static_groups
    from jaxtune.search.samplers import sample
    from jaxtune.spec import load_spec

    trials, _ = sample(load_spec(Path(__file__).parents[1] / path))
    assert static_groups(trials) == unmerged
    for mode, chunk, programs in [
        ("none", 1, unmerged),
        ("auto", None, unmerged),  # vmapped: auto merges nothing
        ("auto", 1, 1),
        ("all", None, 1),
    ]:
        plans = plan_populations(trials, 64, chunk=chunk, merge=merge_policy(mode, chunk))
        assert len({p.group for p in plans}) == programs, (mode, chunk)
        assert sorted(t.trial_id for p in plans for t in p.trials) == [t.trial_id for t in trials]


class AloneOnTheStream:
    """An Engine that trains a config of batch size b alone on a merged population's
    stream: minibatches of the population's smallest batch size `micro` (filled to a
    multiple of `fill` rows, as the population's), joined b / micro at a time."""

    def __init__(self, micro: int, fill: int, **options):
        from support import regrouped

        from jaxtune.engine import Engine

        class Alone(Engine):
            def train_blocks(self, view, batch_size, epoch, multiple=1):
                blocks = super().train_blocks(view, micro, epoch, multiple=fill)
                return [regrouped(block, batch_size // micro) for block in blocks]

        self.engine = Alone(tiny_dataset(), seed=0, chunk=1, **options)

    def run(self, config, trial_id):
        from jaxtune.plan import plan_populations
        from jaxtune.search.samplers import Trial

        [plan] = plan_populations([Trial(trial_id, config)], 8)
        [record] = self.engine.run(plan)
        return record


@pytest.mark.parametrize(
    "budget, buckets",
    [
        ({"eval_every": 3}, (6, 10)),
        ({"max_steps": 9, "eval_every": 4}, None),
    ],
)
def test_eval_every_and_max_steps_count_each_configs_own_steps(budget, buckets):
    """Batch sizes 12, 24 and 48 in one program, evaluated every N of their own steps or
    with a budget of their own steps: each config's history (its evaluations, their steps
    and metrics), status and final state equal the config trained alone on the stream,
    including a config that diverges between two of its evaluations, and (with epochs)
    budgets of 1 and 2 epochs."""
    from jaxtune.engine import Engine
    from jaxtune.plan import plan_populations
    from jaxtune.search.samplers import Trial

    variations = [dict(c) for c in (*MIXED[:3], MIXED[4])]  # 12, 24, 48 and a diverging 12
    if "max_steps" not in budget:
        variations[1]["epochs"] = 1
    population = configs({**ARCHITECTURES[0], "epochs": 2}, variations)
    options = {"buckets": buckets, "early_stopping": EarlyStopping(patience=None), **budget}
    trials = [Trial(k, c) for k, c in enumerate(population)]
    [plan] = plan_populations(trials, 8, chunk=1, merge=ONE_AT_A_TIME)
    assert len({v.batch_size for v in plan.variants}) == 3
    together = Engine(tiny_dataset(), seed=0, chunk=1, **options).run(plan)
    alone = AloneOnTheStream(12, 4, **options)
    for k, config in enumerate(population):
        mine, own = together[k], alone.run(config, k)
        assert mine["status"] == own["status"], f"config {k}"
        assert [h["step"] for h in mine["history"]] == [h["step"] for h in own["history"]]
        assert [h["epoch"] for h in mine["history"]] == [h["epoch"] for h in own["history"]]
        for ours, theirs in zip(mine["history"], own["history"], strict=True):
            for name in ("train_loss", "train_accuracy", "val_loss", "val_accuracy"):
                np.testing.assert_allclose(
                    ours[name], theirs[name], rtol=RTOL, atol=ATOL, err_msg=f"config {k} {name}"
                )
    assert together[3]["status"] == "failed"
    steps = [h["step"] for h in together[2]["history"]]  # batch 48: 4 micro-batches a step
    if "eval_every" in budget:
        assert steps[:-1] == list(range(budget["eval_every"], steps[-1], budget["eval_every"]))
    if "max_steps" in budget:
        assert all(r["history"][-1]["step"] == budget["max_steps"] for r in together[:3])
