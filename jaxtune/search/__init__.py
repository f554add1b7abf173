"""Search: what to train next, proposed round by round, and what its results teach.

Every method is a `Search` (base.py): `propose()` the next round of trials, `observe()`
each trained population's records, `conclude()` the round; `run_sweep` is one loop over
rounds. Nothing here is imported by this package file, so planning and benchmarks can
use the samplers without Optuna.

  base.py      Round, Search, and --n-more's extended spec
  samplers.py  grid, random, one_at_a_time, named configs: the spec's configs as trials
  fixed.py     those as one round (each --n-more extension a batch after it)
  greedy.py    method greedy: one hyperparameter per iteration, best value adopted
  bayes.py     method bayes: Optuna's samplers with batched ask / tell
"""
