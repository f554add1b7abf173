"""`benchmarks/sequence_tasks.py`: the rules that read the readout task without a model,
the quick study's spec, and the table."""

from __future__ import annotations

import numpy as np

from jaxtune.bench.sequence_tasks import (
    QUICK_CONFIGS,
    markdown,
    rule_readings,
    rule_scores,
    study_spec,
)
from jaxtune.data.synthetic import SyntheticConfig
from jaxtune.data.synthetic_sequences import RETRACT, make_readout
from jaxtune.spec import parse_spec


def test_the_rules_fail_exactly_where_the_task_needs_a_model():
    dataset = make_readout(SyntheticConfig(train_size=8, val_size=300, test_size=8, seed=5))
    scores = rule_scores(dataset.val, dataset.vocab)
    split = dataset.val
    retract = dataset.vocab.index(RETRACT)
    taken_back = np.array(
        [retract in row[:n] for row, n in zip(split.tokens, split.lengths, strict=True)]
    )
    # Reading "no" as a filler is exact on every input without one, wrong on every other.
    forward = scores["ignore retractions"]
    assert forward["sequence_accuracy"] == np.mean(~taken_back) < 1.0
    targets = [row[:n] for row, n in zip(split.labels, split.label_lengths, strict=True)]
    repeating = np.array([np.any(t[1:] == t[:-1]) for t in targets])
    # Where nothing is taken back, merging equal neighbours misreads exactly the targets
    # that repeat a digit in a row.
    readings = rule_readings(split, dataset.vocab)["merge equal neighbours"]
    right = np.array([r == t.tolist() for r, t in zip(readings, targets, strict=True)])
    assert np.array_equal(right[~taken_back], ~repeating[~taken_back])
    merged = scores["merge equal neighbours"]
    assert 0.7 < merged["char_accuracy"] < forward["char_accuracy"] < 1.0
    # Reading every copy of every run is exact only where every run is one token long.
    every = scores["every digit token"]
    assert every["sequence_accuracy"] < merged["sequence_accuracy"]
    assert every["cer"] > merged["cer"]
    for score in scores.values():
        assert score["char_accuracy"] == max(0.0, 1.0 - score["cer"])


def test_the_quick_study_keeps_the_invalid_config_and_parses():
    document = study_spec(quick=True)
    assert tuple(document["configs"]) == QUICK_CONFIGS
    spec = parse_spec(document, "quick.yaml")
    assert spec.task == "ctc" and spec.metric == "val_char_accuracy"
    full = parse_spec(study_spec(quick=False), "full.yaml")
    assert len(full.named) == 7 and "cnn_baseline" in full.named


def test_the_table_ranks_configs_and_shows_the_rules():
    result = {
        "quick": True,
        "machine": "cpu",
        "sweep_seconds": 12.0,
        "data": {"train": 10, "val": 4, "test": 4},
        "configs": [
            {
                "name": "a",
                "status": "completed",
                "val_char_accuracy": 0.9,
                "val_cer": 0.1,
                "val_sequence_accuracy": 0.5,
                "best_epoch": 2,
            },
            {
                "name": "cnn",
                "status": "failed",
                "val_char_accuracy": None,
                "val_cer": None,
                "val_sequence_accuracy": None,
                "best_epoch": None,
            },
        ],
        "rules_on_val": {
            "merge equal neighbours": {"char_accuracy": 0.95, "cer": 0.05, "sequence_accuracy": 0.6}
        },
        "final": {"test_char_accuracy": 0.88, "test_sequence_accuracy": 0.4},
    }
    text = markdown(result)
    assert "| 1 | a | 0.9000 | 0.1000 | 0.5000 | 2 | completed |" in text
    assert "| 2 | cnn | - | - | - | - | failed |" in text
    assert "| merge equal neighbours | 0.9500 | 0.0500 | 0.6000 |" in text
    assert "char accuracy 0.8800, sequence accuracy 0.4000" in text
