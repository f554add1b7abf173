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
# The CLI in a subprocess compiles as a user's first sweep does, and writes nothing to
# ~/.cache (test_compile_cache.py gives it a cache of its own).
os.environ.setdefault("JAXTUNE_COMPILE_CACHE", "off")

import jaxtune  # noqa: E402,F401,I001  (adds jaxtune's XLA flags before jax starts)
import atexit  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

import jax  # noqa: E402
import pytest  # noqa: E402

jax.config.update("jax_numpy_rank_promotion", "raise")

# Compiling is nine tenths of the suite's time, and many tests compile the same programs
# (a config trained alone, a README example's defaults): one persistent compilation cache
# for this run, made by the first process to load this file (pytest, or xdist's
# controller, before it starts its workers) and shared by every test process of the run
# through the environment; removed at the end. The tests' own processes (benchmarks, the
# CLI in a subprocess) compile as a user's do: the cache is set in jax's config here, not
# in their environment. A hit still counts as a compilation for `compile_counter`.
CACHE_VARIABLE = "JAXTUNE_TEST_COMPILATION_CACHE"
if CACHE_VARIABLE not in os.environ:
    os.environ[CACHE_VARIABLE] = tempfile.mkdtemp(prefix="jaxtune-test-xla-")
    atexit.register(shutil.rmtree, os.environ[CACHE_VARIABLE], ignore_errors=True)
jax.config.update("jax_compilation_cache_dir", os.environ[CACHE_VARIABLE])
# Not the op-by-op compiles of code run outside jit (hundreds of tiny programs a test):
# writing those costs more than compiling them again.
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.2)
jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
# A size bound turns on the cache's file lock: two workers never read a half-written entry.
jax.config.update("jax_compilation_cache_max_size", 8 << 30)


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


@pytest.fixture(scope="session")
def postgres_url():
    """A real PostgreSQL server of this test session (jaxtune/bench/postgres.py), its URL."""
    from jaxtune.bench.postgres import binaries, server

    if binaries() is None:
        pytest.skip(
            "PostgreSQL is not installed: no initdb on the PATH or in /usr/lib/postgresql "
            "(.ci/run installs Debian's postgresql package)"
        )
    folder = Path(tempfile.mkdtemp(prefix="jaxtune-postgres-"))
    folder.chmod(0o755)  # the server's own user reaches its folder inside
    try:
        with server(folder / "server") as url:
            yield url
    finally:
        shutil.rmtree(folder, ignore_errors=True)
