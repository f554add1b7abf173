"""Regression: a vmapped init with orthogonal (QR) initializers must not wedge XLA CPU.

With XLA's concurrency-optimized scheduler on (jaxlib 0.10.2's default), this program
hangs within a few runs; jaxtune turns it off when imported. Run in a subprocess so a
hang is a timeout, not a stuck test session.
"""

from support import run_python

PROGRAM = """
import jaxtune, jax
from jaxtune.population.program import program_for
from jaxtune.population.factory import make_population
from jaxtune.population.hparams import hparam_arrays, trial_keys
from jaxtune.population.status import EarlyStopping
from jaxtune.space import complete_config
from jaxtune.data.synthetic import SyntheticConfig, make_synthetic
data = make_synthetic(SyntheticConfig(train_size=10, val_size=10, test_size=10))
configs = [complete_config({"architecture": "lstm", "num_layers": 2, "bidirectional": True,
           "hidden_size": 16, "embedding_dim": 8, "learning_rate": 1e-3 * (k + 1)})
           for k in range(6)]
trainer = make_population(program_for(configs[0], data), EarlyStopping())
for run in range(25):
    hparams = hparam_arrays(configs, steps_per_epoch=1)
    jax.block_until_ready(trainer.init(hparams, trial_keys(run, range(6))))
print("done")
"""


def test_vmapped_orthogonal_init_does_not_hang():
    result = run_python(["-c", PROGRAM], timeout=240)
    assert result.stdout.strip().endswith("done")


# A merged program of several widths (merge.py): each width's orthogonal initialisers.
# Its init once vmapped a switch over the widths, which runs every width's QR at once
# and hung an emotion sweep in its first init on this CPU; it now maps over the configs.
WIDTHS_PROGRAM = """
import jaxtune, jax
from jaxtune.population.program import program_for
from jaxtune.population.factory import make_population
from jaxtune.population.hparams import hparam_arrays, trial_keys
from jaxtune.population.status import EarlyStopping
from jaxtune.space import complete_config
from jaxtune.data.synthetic import SyntheticConfig, make_synthetic
from jaxtune.merge import merge_policy, split_group
data = make_synthetic(SyntheticConfig(train_size=10, val_size=10, test_size=10))
configs = [complete_config({"architecture": "gru", "hidden_size": h, "embedding_dim": 50,
           "batch_size": b, "optimizer": o}) for h in (64, 96, 128, 192, 256)
           for b, o in ((32, "adam"), (16, "rmsprop"))]
((members, variants),) = split_group(configs, merge_policy("auto", 1))
population = make_population(program_for(configs[0], data, variants=variants),
                             EarlyStopping(), chunk=1)
for run in range(8):
    hparams = hparam_arrays(configs, steps_per_epoch=1, variants=variants)
    jax.block_until_ready(population.init(hparams, trial_keys(run, range(len(configs)))))
print("done")
"""


def test_a_merged_program_of_several_widths_initialises_without_hanging():
    result = run_python(["-c", WIDTHS_PROGRAM], timeout=240)
    assert result.stdout.strip().endswith("done")
