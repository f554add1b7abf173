"""search/fixed.py: the spec's configs as one round, each --n-more extension a batch after it."""

from jaxtune.search.base import extended
from jaxtune.search.fixed import FixedSearch
from jaxtune.search.samplers import sample
from jaxtune.spec import parse_spec

VALUES = {"learning_rate": [0.001, 0.003, 0.01, 0.03, 0.1], "dropout": [0.0, 0.1, 0.2, 0.3, 0.4]}


def spec_of(method, **top):
    parameters = {name: {"values": values} for name, values in VALUES.items()}
    return parse_spec({"method": method, "parameters": parameters, **top}, f"{method}.yaml")


def ignore(records):
    pass


def test_the_spec_is_one_round_of_one_batch_then_nothing():
    spec = spec_of("grid")
    search = FixedSearch(spec, [], ignore)
    trials, merged = sample(spec)
    round_ = search.propose()
    assert [list(batch) for batch in round_.batches] == [trials]
    assert round_.notice is None
    assert search.merged == merged
    search.conclude()
    assert search.propose() is None
    assert search.propose() is None


def test_merged_duplicates_are_counted_from_the_sampler():
    # Two CNNs that differ only in hidden_size (which a CNN ignores) are one config.
    spec = parse_spec(
        {
            "method": "grid",
            "model": {"architecture": "cnn"},
            "parameters": {"hidden_size": {"values": [8, 16]}, "dropout": {"values": [0.0, 0.5]}},
        },
        "cnn.yaml",
    )
    search = FixedSearch(spec, [], ignore)
    assert search.merged == 2
    assert len(search.propose().batches[0]) == 2


def test_each_extension_is_a_batch_of_the_configs_a_larger_run_cap_adds():
    spec = spec_of("random", run_cap=3, seed=7)
    search = FixedSearch(spec, [2, 1], ignore)
    batches = [list(batch) for batch in search.propose().batches]
    assert [len(batch) for batch in batches] == [3, 2, 1]
    everything, _ = sample(extended(spec, 3))  # run_cap 3 + 2 + 1
    assert [t for batch in batches for t in batch] == everything
    ids = [t.trial_id for batch in batches for t in batch]
    assert ids == list(range(6))  # no trial twice, numbered on from the spec's


def test_observed_records_go_to_the_study():
    told = []
    search = FixedSearch(spec_of("grid"), [], told.append)
    records = [{"trial_id": 0, "status": "completed"}]
    search.observe(records)
    search.observe([])
    assert told == [records, []]
