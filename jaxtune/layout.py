"""Every file and folder name of a sweep directory, and what each holds.

DIR/
  spec.yaml                 the spec as given; every later command reads it again
  run.json                  how the sweep was started (--data-dir, storage, W&B, extensions)
  resolved.json             what the data decided (vocabulary, classes, widths, vectors' width)
  tokenizer.json, tokenizer.settings.json, encoded.npz   the vocabulary and encoded splits
  results.jsonl             one record per config, rewritten atomically after each population
  progress.jsonl            one line per evaluation round as it ends: time, population, best so far
  study.db                  the Optuna study (unless --storage names another)
  params/population_NNN/    orbax checkpoints of each population's best-evaluation params
  params/population_NNN_trials/trial_TTTTTT/   those of a config that left its slot early
  snapshots/population_NNN/ orbax snapshots of the population in training (resume)
  greedy.json               method greedy: its iterations
  sweep.json                how the sweep ran: wall seconds, configs, config-epochs, devices
  wandb/                    W&B's offline runs
  final.json                the once-only test evaluation (`jaxtune final`)
  refine.yaml               the follow-up spec (`jaxtune refine`)
  report.md, report.html, figures/   the report (`jaxtune report`)
"""

from __future__ import annotations

from pathlib import Path

SPEC_FILE = "spec.yaml"
RUN_FILE = "run.json"
RESOLVED_FILE = "resolved.json"
TOKENIZER_FILE = "tokenizer.json"
TOKENIZER_SETTINGS_FILE = "tokenizer.settings.json"
ENCODED_FILE = "encoded.npz"
RESULTS_FILE = "results.jsonl"
PROGRESS_FILE = "progress.jsonl"
STUDY_FILE = "study.db"
PARAMS_DIR = "params"
SNAPSHOTS_DIR = "snapshots"
GREEDY_FILE = "greedy.json"
SWEEP_FILE = "sweep.json"
WANDB_DIR = "wandb"
FINAL_FILE = "final.json"
REFINE_FILE = "refine.yaml"
REPORT_MARKDOWN = "report.md"
REPORT_HTML = "report.html"
FIGURES_DIR = "figures"

# What a new sweep in the directory builds again from its own data (`--overwrite`).
DATA_CACHE = (TOKENIZER_FILE, TOKENIZER_SETTINGS_FILE, ENCODED_FILE)
# What an earlier sweep leaves that a new one replaces (`--overwrite`; results.jsonl too).
EARLIER_SWEEP = (
    STUDY_FILE,
    PROGRESS_FILE,
    RUN_FILE,
    RESOLVED_FILE,
    PARAMS_DIR,
    SNAPSHOTS_DIR,
    FINAL_FILE,
    SWEEP_FILE,
    GREEDY_FILE,
    WANDB_DIR,
)


def population_path(directory: Path, folder: str, population: int) -> Path:
    """DIR/FOLDER/population_NNN: one population's checkpoints (params/ or snapshots/)."""
    return Path(directory) / folder / f"population_{population:03d}"
