import os

# Several fake CPU devices for sharding tests; set before jax creates its CPU client.
# Tests check program semantics, not speed: LLVM's -O0 backend compiles the small test
# programs about 3x faster and leaves HLO semantics (and population == solo) unchanged.
# The CLI end-to-end test runs the demo spec in a subprocess with default optimisation.
# The accelerator check (benchmarks/accelerator/) runs tests on a GPU with its own flags.
if not os.environ.get("JAXTUNE_TESTS_ON_DEVICE"):
    os.environ["XLA_FLAGS"] = (
        os.environ.get("XLA_FLAGS", "")
        + " --xla_force_host_platform_device_count=4 --xla_backend_optimization_level=0"
    ).strip()
# Never touch the network from tests.
os.environ.setdefault("WANDB_MODE", "disabled")
os.environ.setdefault("JAXTUNE_WANDB", "disabled")  # test_tracking.py turns it on

import jaxtune  # noqa: E402,F401,I001  (adds jaxtune's XLA flags before jax starts)
import jax  # noqa: E402
import pytest  # noqa: E402

jax.config.update("jax_numpy_rank_promotion", "raise")


COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"


@pytest.fixture
def compile_counter():
    """A list that grows by one at each XLA backend compilation while the test runs."""
    events = []

    def listen(event, duration, **kwargs):
        if event == COMPILE_EVENT:
            events.append(event)

    jax.monitoring.register_event_duration_secs_listener(listen)
    yield events
    jax.monitoring.unregister_event_duration_listener(listen)


# The slowest tests (fresh processes, whole sweeps) start first: xdist's workers then
# share out the many short tests at the end instead of one worker finishing a long one
# alone. The order changes nothing else.
SLOW_FIRST = (
    "test_bench_quick.py",
    "test_bench_head_to_head.py::test_quick_run_end_to_end",
    "test_accelerator_check.py",
    "test_bench_interleaved.py",
    "test_resume.py",
    "test_merge.py",
)


def pytest_collection_modifyitems(config, items):
    def rank(item):
        ranks = (i for i, name in enumerate(SLOW_FIRST) if name in item.nodeid)
        return next(ranks, len(SLOW_FIRST))

    items.sort(key=rank)
