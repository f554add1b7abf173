"""The live table's status counts: each occupied slot's status, by name."""

import numpy as np

from jaxtune.engine import status_counts
from jaxtune.population.status import Status


def test_status_counts_count_occupied_slots_by_status():
    status = np.array(
        [Status.RUNNING, Status.FAILED, Status.RUNNING, Status.PRUNED, Status.STOPPED]
    )
    occupant = np.array([3, 4, 0, 1, -1])  # the last slot is empty: not counted
    assert status_counts(status, occupant) == {"running": 2, "pruned": 1, "failed": 1}
