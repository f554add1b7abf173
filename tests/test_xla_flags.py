"""XLA CPU's multi-output fusion, which jaxtune turns on when imported (jaxtune/__init__.py).

Each program runs in a subprocess with only the XLA_FLAGS it is given: the flags are read
once, when jax creates its CPU client, and a compiler check failure aborts the process.
"""

import numpy as np
import pytest
from support import run_python

# Two outputs that read the same inputs: one loop (a fusion with a tuple result) with
# multi-output fusion on, two loops without it.
FUSIONS = """
import jaxtune, jax, jax.numpy as jnp
def moments(g, m, v):
    return 0.9 * m + 0.1 * g, 0.99 * v + 0.01 * g * g
x = jnp.ones((1000, 100))
lines = jax.jit(moments).lower(x, x, x).compile().as_text().split("ENTRY")[1].splitlines()
fusions = [line.split(" = ")[1] for line in lines if " fusion(" in line]
print(len(fusions), sum(f.startswith("(") for f in fusions))
"""

# The lazy embedding update's write-back: the table and both Adam moments scattered at
# the same rows. Fused as siblings, the three scatters abort jaxlib 0.10.2's compiler;
# scatter_rows gives each its own indices.
LAZY_ADAM_STEP = """
import jaxtune, jax, jax.numpy as jnp, numpy as np, optax
from jaxtune.embedding_rows import gather_rows, scatter_rows
from jaxtune.models import EMBEDDING
V, E = 50, 8
params = {EMBEDDING: {"embedding": jnp.arange(V * E, dtype=jnp.float32).reshape(V, E)}}
adam = optax.adam(0.1)
rows = jnp.asarray(list(range(0, 40, 4)) + [V, V], jnp.int32)  # padded with V: dropped

def step(state, rows):
    params, opt_state = gather_rows(state, rows)
    grads = jax.tree.map(jnp.ones_like, params)
    updates, opt_state = adam.update(grads, opt_state, params)
    return scatter_rows(state, (optax.apply_updates(params, updates), opt_state), rows)

params, opt_state = jax.jit(step)((params, adam.init(params)), rows)
np.save("table.npy", params[EMBEDDING]["embedding"])
np.save("mu.npy", opt_state[0].mu[EMBEDDING]["embedding"])
np.save("nu.npy", opt_state[0].nu[EMBEDDING]["embedding"])
"""


def run(program: str, cwd, **env_vars: str) -> str:
    own = ("XLA_FLAGS", "JAXTUNE_MULTI_OUTPUT_FUSION")  # the test decides them
    return run_python(["-c", program], cwd=cwd, timeout=240, drop=own, **env_vars).stdout.strip()


@pytest.mark.parametrize(
    "env_vars, expected",
    [
        ({}, "1 1"),
        # A user's own backend options win: jaxtune adds none, so nothing is fused.
        ({"XLA_FLAGS": "--xla_backend_extra_options=xla_llvm_disable_expensive_passes"}, "2 0"),
        ({"JAXTUNE_MULTI_OUTPUT_FUSION": "0"}, "2 0"),
    ],
    ids=["jaxtune-default", "user-options", "turned-off"],
)
def test_importing_jaxtune_turns_on_multi_output_fusion(tmp_path, env_vars, expected):
    assert run(FUSIONS, tmp_path, **env_vars) == expected


def test_lazy_write_back_of_table_and_moments_compiles_with_multi_output_fusion(tmp_path):
    run(LAZY_ADAM_STEP, tmp_path)
    table, mu, nu = (np.load(tmp_path / f"{name}.npy") for name in ("table", "mu", "nu"))
    stepped = np.zeros(50, bool)
    stepped[0:40:4] = True
    before = np.arange(50 * 8, dtype=np.float32).reshape(50, 8)
    # Adam's first step with gradient 1 moves a row by -lr / (1 + eps / sqrt(v_hat)).
    np.testing.assert_allclose(table[stepped], before[stepped] - 0.1, atol=1e-5)
    np.testing.assert_array_equal(table[~stepped], before[~stepped])
    np.testing.assert_allclose(mu[stepped], 0.1, rtol=1e-6)
    np.testing.assert_allclose(nu[stepped], 0.001, rtol=1e-6)
    np.testing.assert_array_equal(mu[~stepped], 0)
    np.testing.assert_array_equal(nu[~stepped], 0)
