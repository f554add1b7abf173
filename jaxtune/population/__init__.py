"""A population: K configs of one static signature stacked on a leading axis and trained
as one program.

  status.py     a config's Status, the monitors, the early-stopping settings (no jax)
  state.py      ConfigState = TrainState (what a step updates) + Lifecycle (what the
                evaluations decide); init_state; the snapshot's flat field layout
  program.py    Program (what a static signature fixes); a merged program's Variants
  shapes.py     configs of several widths: each config's arrays in the corner of the widest
  step.py       the train and eval step of ONE config
  lifecycle.py  after an evaluation: best-so-far, early stopping, plateau, completion;
                the stop a time limit or a scheduler forces
  chunks.py     the K axis run `chunk` configs at a time
  hparams.py    dynamic hyperparameters as [K] arrays; per-trial keys
  factory.py    make_population(program, ...) -> Population, a NamedTuple of pure jitted
                functions (init, train_round, evaluate_totals, metrics, after_evaluation,
                stop); a single config is a population of width 1

Importing the package imports nothing: the modules are imported by name.
"""
