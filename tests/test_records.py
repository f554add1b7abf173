"""records.py: a result record from a config's outcome, and the reason a reader is given."""

import pytest

from jaxtune.plan import PopulationPlan
from jaxtune.population.status import EarlyStopping, Status
from jaxtune.records import Outcome, Recorder
from jaxtune.search.samplers import Trial
from jaxtune.space import complete_config

HISTORY = [
    {"epoch": 1, "step": 10, "val_accuracy": 0.5},
    {"epoch": 2, "step": 20, "val_accuracy": 0.7},
    {"epoch": 3, "step": 30, "val_accuracy": 0.6},
]


def outcome(status, best_epoch=2, failed_step=-1, epoch=3, timed_out=False):
    return Outcome(Status(status), best_epoch, failed_step, epoch, timed_out)


@pytest.fixture
def plan():
    config = complete_config({"hidden_size": (128, 64), "num_layers": 2})
    trial = Trial(7, config, studies=("dropout",), name="wide")
    return PopulationPlan(group=3, trials=(trial,))


def test_a_record_carries_its_trial_its_best_evaluation_and_json_ready_hparams(plan):
    recorder = Recorder(EarlyStopping(monitor="val_accuracy"), eval_every=None, max_loss=100.0)
    record = recorder.record(plan, plan.trials[0], HISTORY, outcome(Status.COMPLETED))
    assert record["trial_id"] == 7 and record["group"] == 3 and record["name"] == "wide"
    assert record["studies"] == ["dropout"]
    assert record["status"] == "completed" and record["epochs_run"] == 3
    assert record["best_epoch"] == 2 and record["best"] == HISTORY[1]
    assert record["best"] is not HISTORY[1]  # a copy: the history entry stays as it was
    assert record["hparams"]["hidden_size"] == [128, 64]  # a tuple is written as a list
    assert record["failed_step"] is None
    never = recorder.record(plan, plan.trials[0], HISTORY, outcome(Status.FAILED, best_epoch=0))
    assert never["best_epoch"] is None and never["best"] is None


@pytest.mark.parametrize(
    "eval_every,result,expected",
    [
        (None, outcome(Status.COMPLETED), "ran 3 epochs; best val_loss at epoch 2"),
        (
            5,
            outcome(Status.COMPLETED),
            "ran 3 evaluations of 5 steps; best val_loss at evaluation 2",
        ),
        (
            None,
            outcome(Status.STOPPED),
            "early stopping after epoch 3: no val_loss improvement for 1 epochs; restored epoch 2",
        ),
        (
            5,
            outcome(Status.STOPPED),
            "early stopping after evaluation 3: no val_loss improvement for 1 evaluations; "
            "restored evaluation 2",
        ),
        (
            None,
            outcome(Status.STOPPED, timed_out=True),
            "stopped by budget.time_limit after evaluation 3; restored evaluation 2",
        ),
        (
            None,
            outcome(Status.FAILED, failed_step=17, epoch=1),
            "diverged at step 17 (epoch 2): loss or parameters non-finite or above max_loss 100; "
            "frozen at its last good state",
        ),
        (None, outcome(Status.FAILED, epoch=2), "diverged: non-finite validation loss at epoch 2"),
        (None, outcome(Status.PRUNED), "pruned"),
    ],
)
def test_the_reason_names_what_ended_the_config(eval_every, result, expected):
    recorder = Recorder(EarlyStopping(patience=1), eval_every=eval_every, max_loss=100.0)
    assert recorder.reason(result) == expected


def test_without_restore_or_a_loss_bound_the_reason_does_not_claim_them():
    recorder = Recorder(EarlyStopping(patience=2, restore_best=False), None, max_loss=None)
    assert recorder.reason(outcome(Status.STOPPED)).endswith("for 2 epochs")
    assert recorder.reason(outcome(Status.FAILED, failed_step=4, epoch=0)) == (
        "diverged at step 4 (epoch 1): loss or parameters non-finite; frozen at its last good state"
    )
