"""Head to head: the best validation accuracy each tuner has found after t seconds of wall
time, from process start, on the same data, space, epoch cap and cores.

Every contestant is a fresh process (imports, data loading and every compile count),
given the same wall budget and the same token ids (jaxtune's tokenization, written once
to DATA.npz for the PyTorch side), so only the tuner and the training engine differ:

- `jaxtune-random`, `jaxtune-bayes`: `jaxtune sweep` of a spec a user would write
  (method random or bayes, `budget.time_limit` = the budget). What it has found at time
  t is the best value in its `progress.jsonl` (one line per population round, as the
  terminal shows it); `jaxtune-hyperband`: random with W&B's hyperband
  `early_terminate` (schedulers/early_terminate.py); `jaxtune-asha`: random with Optuna's
  successive halving as its `scheduler` (schedulers/halving.py); `jaxtune-bayes-asha`:
  bayes with that scheduler, each freed slot asking TPE for a config (search/bayes.py);
- `optuna-hyperband`, `optuna-median`: Optuna's TPESampler with that pruner driving
  PyTorch (bench/optuna_torch.py), one trial at a time on every core;
- `optuna-jobs`: as many such processes as cores, one thread each, sharing one study
  through an Optuna journal file (how a user parallelises Optuna on one machine).

For each (contestant, seed) the curve is the best validation accuracy of any evaluation
logged by then. Reported: the median over seeds with its min-max band, the value at
fixed marks, the time to reach the reference (optuna-hyperband's median best at the
end of the budget), the configs tried / finished / pruned or cut / failed, and the test
accuracy of each contestant's own choice (jaxtune final; the PyTorch side's best trial,
at its best-loss epoch), evaluated once per run.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

SPACE = {
    "architecture": ["gru", "lstm"],
    "learning_rate": {"min": 1e-4, "max": 1e-2, "log": True},
    "batch_size": [32, 64, 128],
    "hidden_size": [64, 128, 256],
    "dropout": {"min": 0.1, "max": 0.6},
    "optimizer": ["adam", "rmsprop"],
}
FIXED = {"embedding_dim": 64}
# --glove: the embedding is GloVe 50d (the subset in ../shared/data), frozen or fine-tuned
# as a hyperparameter of the space, on both sides.
GLOVE = "glove/glove.6B.50d.subset.txt.gz"
# --quick: a space that compiles and trains in seconds on a slice of the data.
QUICK_SPACE = {
    **SPACE,
    "architecture": ["gru"],
    "batch_size": [16, 32],
    "hidden_size": [8],
    "optimizer": ["adam"],
}
QUICK_FIXED = {"embedding_dim": 8}
CONTESTANTS = (
    "jaxtune-random",
    "jaxtune-bayes",
    "jaxtune-hyperband",
    "jaxtune-asha",
    "jaxtune-bayes-asha",
    "optuna-hyperband",
    "optuna-median",
    "optuna-jobs",
)
REFERENCE = "optuna-hyperband"
# jaxtune-hyperband: method random with W&B's hyperband early_terminate, with the
# resource and reduction factor of the Optuna side's HyperbandPruner (1 epoch, 3).
EARLY_TERMINATE = {"type": "hyperband", "min_iter": 1, "eta": 3}
# jaxtune-asha: method random with Optuna's successive halving as its scheduler, the
# Optuna side's resource and reduction factor, its slots refilled (plan.streamed).
SCHEDULER = {"type": "asha", "min_resource": 1, "reduction_factor": 3}
MARKS = (0.1, 0.2, 0.5, 1.0)  # of the budget: 1, 2, 5 and 10 minutes of a 10-minute one


@dataclasses.dataclass(frozen=True)
class Settings:
    data: str = "emotion"  # a jaxtune data preset (data.name)
    data_dir: str | None = None
    budget: float = 600.0  # wall seconds per contestant and seed
    seeds: tuple[int, ...] = (0, 1, 2)
    contestants: tuple[str, ...] = CONTESTANTS
    max_epochs: int = 10
    patience: int = 3
    run_cap: int = 32  # jaxtune random: configs sampled
    ask_batch: int = 8  # jaxtune bayes: configs per round
    space: dict = dataclasses.field(default_factory=lambda: dict(SPACE))
    fixed: dict = dataclasses.field(default_factory=lambda: dict(FIXED))
    data_options: dict = dataclasses.field(default_factory=dict)  # more of the data section
    embedding: str | None = None  # pretrained vectors (a file under data_dir); None: learned
    workers: int = os.cpu_count() or 1  # optuna-jobs: processes
    grace: float = 600.0  # seconds a process may run past its budget (its last epoch, final)


def quick_settings(data_dir: str | None, **overrides) -> Settings:
    """Seconds per contestant on a slice: the harness end to end, not a measurement."""
    options = {
        "data_dir": data_dir,
        "budget": 10.0,  # room for imports and a first epoch while other tests load the cores
        "seeds": (0,),
        "max_epochs": 2,
        "patience": 1,
        "run_cap": 4,
        "ask_batch": 2,
        "space": dict(QUICK_SPACE),
        "fixed": dict(QUICK_FIXED),
        "data_options": {"max_length": 24},
        "workers": 2,
        "grace": 180.0,
    }
    return Settings(**{**options, **overrides})


def with_glove(settings: Settings) -> Settings:
    """The GloVe variant: GloVe 50d vectors in place of a learned 64d table, and whether
    they are fine-tuned (embedding_trainable) swept with the rest."""
    return dataclasses.replace(
        settings,
        embedding=GLOVE,
        space={**settings.space, "embedding_trainable": [True, False]},
        fixed={k: v for k, v in settings.fixed.items() if k != "embedding_dim"},
    )


def stem_name(settings: Settings) -> str:
    """The results' file name: head_to_head_DATA, with _glove for the GloVe variant."""
    return f"head_to_head_{settings.data}" + ("_glove" if settings.embedding else "")


def space_parameters(space: dict[str, Any]) -> dict[str, Any]:
    """The space as a spec's `parameters`: value lists, and uniform or log-uniform ranges."""
    parameters = {}
    for name, values in space.items():
        if isinstance(values, list):
            parameters[name] = {"values": values}
        else:
            kind = "log_uniform_values" if values.get("log") else "uniform"
            parameters[name] = {"distribution": kind, "min": values["min"], "max": values["max"]}
    return parameters


def jaxtune_spec(settings: Settings, method: str, seed: int) -> dict[str, Any]:
    """The spec a jaxtune user writes for the head-to-head's space; method random, bayes,
    hyperband (random with early_terminate), asha (random with that scheduler) or
    bayes-asha (bayes with it: each freed slot asks TPE for a config)."""
    contestant = method
    method = {"hyperband": "random", "asha": "random", "bayes-asha": "bayes"}.get(method, method)
    parameters = space_parameters(settings.space)
    spec = {
        "name": f"head_to_head_{method}",
        "seed": seed,
        "method": method,
        "run_cap": settings.run_cap,
        "metric": {"name": "val_accuracy", "goal": "maximize"},
        "data": {"name": settings.data, **settings.data_options},
        "model": dict(settings.fixed),
        "train": {
            "epochs": settings.max_epochs,
            "early_stopping": {"monitor": "val_loss", "patience": settings.patience},
        },
        "budget": {"time_limit": settings.budget},
        "parameters": parameters,
    }
    if method == "bayes":
        spec["budget"]["ask_batch"] = settings.ask_batch
    if contestant == "hyperband":
        spec["name"] = "head_to_head_hyperband"
        spec["early_terminate"] = dict(EARLY_TERMINATE)
    if contestant in ("asha", "bayes-asha"):
        spec["name"] = f"head_to_head_{contestant.replace('-', '_')}"
        spec["scheduler"] = dict(SCHEDULER)
    if settings.embedding:
        spec["data"]["embedding"] = {"pretrained": settings.embedding}
    return spec


def write_data(settings: Settings, path: Path) -> dict[str, Any]:
    """jaxtune's token ids of the three splits, for the PyTorch side (DATA.npz)."""
    from jaxtune.data.sources import load_dataset
    from jaxtune.spec import parse_spec

    spec = parse_spec(jaxtune_spec(settings, "random", 0))
    dataset, report = load_dataset(spec.data, data_dir=settings.data_dir)
    arrays = {"vocab_size": dataset.vocab_size, "num_classes": dataset.num_classes}
    if report.embedding is not None:  # the rows jaxtune starts every config from
        arrays["embedding"] = report.embedding
    for name in ("train", "val", "test"):
        split = getattr(dataset, name)
        arrays |= {
            f"{name}_tokens": split.tokens,
            f"{name}_lengths": split.lengths,
            f"{name}_labels": split.labels,
        }
    np.savez(path, **arrays)
    return {
        "data": settings.data,
        "train": len(dataset.train),
        "val": len(dataset.val),
        "test": len(dataset.test),
        "vocab_size": dataset.vocab_size,
        "max_length": dataset.train.max_length,
    }


@dataclasses.dataclass
class Run:
    """One contestant's run: what it found when, how many configs, its winner on test."""

    contestant: str
    seed: int
    events: list[tuple[float, float]]  # (seconds from launch, validation accuracy)
    tried: int = 0
    finished: int = 0
    cut: int = 0  # pruned (optuna), or stopped by the wall budget
    failed: int = 0
    test_accuracy: float | None = None
    winner_value: float | None = None
    wall: float = 0.0  # seconds from launch to the process's exit
    extra: dict = dataclasses.field(default_factory=dict)

    def best_at(self, t: float) -> float | None:
        values = [v for when, v in self.events if when <= t]
        return max(values) if values else None

    def reached(self, target: float, budget: float) -> float | None:
        """Seconds until its best reached `target` within the budget (None: never)."""
        for when, value in sorted(self.events):
            if when <= budget and value >= target:
                return when
        return None


def _launch(command: list[str], log: Path, env: dict | None = None) -> subprocess.Popen:
    handle = open(log, "w", encoding="utf-8")  # noqa: SIM115
    return subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, env=env)


def _wait(processes: list[subprocess.Popen], until: float) -> None:
    for process in processes:
        try:
            process.wait(timeout=max(until - time.time(), 1.0))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run_jaxtune(settings: Settings, method: str, seed: int, work: Path) -> Run:
    from jaxtune.progress import read_progress

    spec_path = work / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(jaxtune_spec(settings, method, seed), sort_keys=False))
    sweep = work / "sweep"
    jaxtune = str(Path(sys.executable).parent / "jaxtune")
    command = [jaxtune, "sweep", str(spec_path), "--out", str(sweep), "--overwrite"]
    # From a cold start: every program compiled in the run (compile_cache.py would load
    # those an earlier run of the same programs compiled).
    command += ["--compile-cache", "off"]
    if settings.data_dir:
        command += ["--data-dir", settings.data_dir]
    launched = time.time()
    process = _launch(command, work / "sweep.log")
    _wait([process], launched + settings.budget + settings.grace)
    wall = time.time() - launched
    events = [(line["time"] - launched, line["best"]) for line in read_progress(sweep)]
    run = Run(f"jaxtune-{method}", seed, [(t, v) for t, v in events if v is not None], wall=wall)
    results = sweep / "results.jsonl"
    records = [json.loads(x) for x in results.read_text().splitlines()] if results.exists() else []
    run.tried = len(records)
    reasons = [r.get("status_reason", "") for r in records]
    pruned = sum(r["status"] == "pruned" for r in records)
    run.cut = sum("time_limit" in reason for reason in reasons) + pruned
    run.failed = sum(r["status"] == "failed" for r in records)
    run.finished = run.tried - run.cut - run.failed
    run.extra = {"exit_code": process.returncode, "planned": settings.run_cap, "pruned": pruned}
    if records:
        final = subprocess.run(
            [
                jaxtune,
                "final",
                str(sweep),
                *(["--data-dir", settings.data_dir] if settings.data_dir else []),
            ],
            capture_output=True,
            text=True,
        )
        if final.returncode == 0:
            document = json.loads((sweep / "final.json").read_text())
            run.test_accuracy = document["test_accuracy"]
            run.winner_value = document.get("val_accuracy")
            run.extra["winner"] = document["top"][0]["hparams"]
        else:
            run.extra["final_error"] = final.stderr.strip().splitlines()[-1:]
    return run


def run_optuna(settings: Settings, contestant: str, seed: int, work: Path, data: Path) -> Run:
    workers = settings.workers if contestant == "optuna-jobs" else 1
    pruner = "median" if contestant == "optuna-median" else "hyperband"
    launched = time.time()
    deadline = launched + settings.budget
    base = [
        sys.executable, "-m", "jaxtune.bench.optuna_torch",
        "--data", str(data), "--deadline", repr(deadline),
        "--space", json.dumps(settings.space), "--fixed", json.dumps(settings.fixed),
        "--seed", str(seed), "--pruner", pruner,
        "--max-epochs", str(settings.max_epochs), "--patience", str(settings.patience),
    ]  # fmt: skip
    processes = []
    for worker in range(workers):
        command = [*base, "--events", str(work / f"events_{worker}.jsonl"), "--worker", str(worker)]
        if workers > 1:  # one thread each, one study in a journal file
            command += ["--threads", "1", "--storage", str(work / "study.journal")]
        processes.append(_launch(command, work / f"worker_{worker}.log"))
    _wait(processes, deadline + settings.grace)
    wall = time.time() - launched
    lines = []
    for worker in range(workers):
        path = work / f"events_{worker}.jsonl"
        lines += [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []
    run = Run(contestant, seed, [], wall=wall)
    run.events = [(e["time"] - launched, e["val_accuracy"]) for e in lines if "val_accuracy" in e]
    run.events = [(t, v) for t, v in run.events if np.isfinite(v)]
    ends = [e for e in lines if "state" in e]
    run.tried = len(ends)
    run.finished = sum(e["state"] == "complete" for e in ends)
    run.cut = sum(e["state"] in ("pruned", "cut") for e in ends)
    run.failed = sum(e["state"] == "fail" for e in ends)
    finals = [e["final"] for e in lines if e.get("final")]
    if finals:
        best = max(finals, key=lambda f: f["value"])
        run.test_accuracy, run.winner_value = best["test_accuracy"], best["value"]
        run.extra["winner"] = best["config"]
    pruned = sum(e["state"] == "pruned" for e in ends)
    speeds = [e["steps"] / e["train_seconds"] for e in ends if e["train_seconds"] > 0]
    run.extra |= {
        "exit_codes": [p.returncode for p in processes],
        "pruned": pruned,
        "median_steps_per_s": float(np.median(speeds)) if speeds else None,
    }
    return run


def run_contestant(settings: Settings, contestant: str, seed: int, work: Path, data: Path) -> Run:
    work.mkdir(parents=True, exist_ok=True)
    if contestant.startswith("jaxtune-"):
        return run_jaxtune(settings, contestant.removeprefix("jaxtune-"), seed, work)
    return run_optuna(settings, contestant, seed, work, data)


def curve(runs: list[Run], times: np.ndarray) -> dict[str, list]:
    """Median, min and max over the runs (seeds) of the best-so-far at each time; NaN
    where a run has nothing yet (the median counts it as nothing: NaN until half have)."""
    values = np.array([[r.best_at(t) if r.best_at(t) is not None else np.nan for t in times]
                       for r in runs])  # fmt: skip
    found = np.sum(~np.isnan(values), axis=0)
    filled = np.where(np.isnan(values), -np.inf, values)
    median = np.median(filled, axis=0)
    median = np.where(found * 2 > len(runs), median, np.nan)
    low = np.where(found == len(runs), np.min(np.nan_to_num(values, nan=np.inf), axis=0), np.nan)
    high = np.where(found > 0, np.max(filled, axis=0), np.nan)
    return {"median": median.tolist(), "low": low.tolist(), "high": high.tolist()}


def summarize(settings: Settings, runs: list[Run]) -> dict[str, Any]:
    """Per contestant: the curve, the value at the marks, the time to the reference."""
    budget = settings.budget
    times = np.linspace(0.0, budget, 201)
    by_name = {name: [r for r in runs if r.contestant == name] for name in settings.contestants}
    reference = None
    if by_name.get(REFERENCE):
        finals = [r.best_at(budget) for r in by_name[REFERENCE]]
        finals = [v for v in finals if v is not None]
        reference = float(np.median(finals)) if finals else None
    contestants = {}
    for name, mine in by_name.items():
        if not mine:
            continue
        at = {}
        for mark in MARKS:
            values = [r.best_at(mark * budget) for r in mine]
            known = [v for v in values if v is not None]
            at[f"{mark * budget:g}"] = {
                "median": float(np.median(known)) if len(known) * 2 > len(values) else None,
                "min": min(known) if len(known) == len(values) else None,
                "max": max(known) if known else None,
            }
        reach = None
        if reference is not None:
            seconds = [r.reached(reference, budget) for r in mine]
            ordered = sorted(np.inf if s is None else s for s in seconds)
            middle = float(np.median(ordered))
            reach = None if not np.isfinite(middle) else middle
        tests = [r.test_accuracy for r in mine if r.test_accuracy is not None]
        contestants[name] = {
            "curve": curve(mine, times),
            "at": at,
            "reaches_reference_s": reach,
            "tried": [r.tried for r in mine],
            "finished": [r.finished for r in mine],
            "cut": [r.cut for r in mine],
            "failed": [r.failed for r in mine],
            "test_accuracy": float(np.median(tests)) if tests else None,
            "runs": [dataclasses.asdict(r) for r in mine],
        }
    return {"times": times.tolist(), "reference": reference, "contestants": contestants}


def _fmt(value, digits=4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def markdown(settings: Settings, summary: dict[str, Any], meta: dict[str, Any]) -> str:
    budget = settings.budget
    marks = [f"{m * budget:g}" for m in MARKS]
    data = meta["data"]
    lines = [
        f"# Head to head: {settings.data}"
        + (f", embedding {settings.embedding}" if settings.embedding else "")
        + f", {budget:g} s per contestant, seeds {', '.join(map(str, settings.seeds))}",
        "",
        f"Best validation accuracy found by t seconds from process start (median over seeds, "
        f"[min-max]). Reference: {REFERENCE}'s median best at {budget:g} s = "
        f"{_fmt(summary['reference'])}.",
        "",
        "| contestant | "
        + " | ".join(f"at {m} s" for m in marks)
        + " | reaches reference | tried | finished | pruned/cut | failed | test acc |",
        "|---|" + "---:|" * (len(marks) + 6),
    ]
    for name, row in summary["contestants"].items():
        cells = []
        for m in marks:
            at = row["at"][m]
            band = "" if at["min"] is None else f" [{_fmt(at['min'])}-{_fmt(at['max'])}]"
            cells.append(_fmt(at["median"]) + (band if len(settings.seeds) > 1 else ""))
        reach = (
            "never" if row["reaches_reference_s"] is None else f"{row['reaches_reference_s']:.0f} s"
        )
        counts = [
            "/".join(str(n) for n in row[key]) for key in ("tried", "finished", "cut", "failed")
        ]
        lines.append(
            f"| {name} | " + " | ".join(cells) + f" | {reach} | " + " | ".join(counts)
            + f" | {_fmt(row['test_accuracy'])} |"
        )  # fmt: skip
    lines += [
        "",
        f"Data: {data['data']}, {data['train']} / {data['val']} / {data['test']} examples "
        f"(train / val / test), {data['vocab_size']} tokens, at most {data['max_length']} "
        f"per example. Machine: {meta['machine']}. Space: {json.dumps(settings.space)}, "
        f"fixed {json.dumps(settings.fixed)}; at most {settings.max_epochs} epochs, patience "
        f"{settings.patience} on the validation loss. jaxtune random samples {settings.run_cap} "
        f"configs; bayes asks {settings.ask_batch} per round; optuna-jobs runs "
        f"{settings.workers} processes.",
    ]
    speed = meta.get("torch_speed")
    if speed:
        lines += [
            "",
            f"The PyTorch side's classifier trains at "
            f"{speed['head_to_head']:.1f} steps/s against the throughput benchmark's PyTorch "
            f"baseline at {speed['throughput_baseline']:.1f} (GRU H128 E100, batches of 64 "
            f"full-length 64-token sequences, same process): {speed['ratio']:.2f}x.",
        ]
    return "\n".join(lines) + "\n"


def plot(settings: Settings, summary: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7.5, 4.5))
    minutes = np.asarray(summary["times"]) / 60
    for name, row in summary["contestants"].items():
        line = np.asarray(row["curve"]["median"], float)
        (drawn,) = axes.step(minutes, line, where="post", label=name)
        low = np.asarray(row["curve"]["low"], float)
        high = np.asarray(row["curve"]["high"], float)
        if len(settings.seeds) > 1:
            axes.fill_between(minutes, low, high, step="post", alpha=0.15, color=drawn.get_color())
    if summary["reference"] is not None:
        axes.axhline(summary["reference"], color="grey", linestyle="--", linewidth=0.8)
        # Where the contestants differ: from 0.1 below the reference up.
        axes.set_ylim(bottom=max(summary["reference"] - 0.1, 0.0))
    axes.set_xlabel("wall time from process start (minutes)")
    axes.set_ylabel("best validation accuracy so far")
    axes.set_title(
        f"{settings.data}: best model found vs wall time ({len(settings.seeds)} seed(s))"
    )
    axes.legend(loc="lower right")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def torch_speed_check(steps: int = 30, batch_size: int = 64, length: int = 64) -> dict:
    """Steps/s of the head-to-head's PyTorch classifier against the
    throughput benchmark's PyTorch baseline (bench/torch_baseline.py), on the same
    batches of full-length sequences (GRU H128 E100 B64 T64, the throughput case), one
    after the other in this process: the per-trial side is not handicapped by its
    implementation."""
    import torch

    from jaxtune.bench.optuna_torch import build_model
    from jaxtune.bench.torch_baseline import build_torch_model
    from jaxtune.space import complete_config

    torch.set_num_threads(os.cpu_count() or 1)
    config = complete_config(
        {"architecture": "gru", "hidden_size": 128, "embedding_dim": 100, "dropout": 0.2}
    )
    generator = torch.Generator().manual_seed(0)
    tokens = torch.randint(1, 20000, (steps, batch_size, length), generator=generator)
    labels = torch.randint(0, 6, (steps, batch_size), generator=generator)
    lengths = torch.full((batch_size,), length)
    rates = {}
    for name, model, forward in (
        ("head_to_head", build_model(config, 20000, 6), lambda m, x: m(x, lengths)),
        ("throughput_baseline", build_torch_model(config, 20000, 6), lambda m, x: m(x)),
    ):
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        for _ in range(2):  # the first pass warms up
            began = time.perf_counter()
            for x, y in zip(tokens, labels, strict=True):
                optimizer.zero_grad(set_to_none=True)
                torch.nn.functional.cross_entropy(forward(model, x), y).backward()
                optimizer.step()
            seconds = time.perf_counter() - began
        rates[name] = steps / seconds
    rates["ratio"] = rates["head_to_head"] / rates["throughput_baseline"]
    return rates


def machine() -> str:
    """The CPU model, its core count and the versions that decide the engines' speed."""
    from importlib import metadata

    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [x for x in cpuinfo.read_text().splitlines() if x.startswith("model name")]
        model = names[0].split(":", 1)[1].strip() if names else model
    versions = []
    for package in ("jax", "torch", "optuna"):
        try:
            versions.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{package} absent")
    return f"{model}, {os.cpu_count()} CPUs; " + ", ".join(versions)


def source_commit() -> str | None:
    """The jaxtune commit a run measured (a sitting's rows may come from several)."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parent,
        )
    except OSError:
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def without_sitting(runs: list[Run], settings: Settings) -> list[Run]:
    """The runs that are not of the sitting's contestants and seeds (`--replace`)."""
    return [
        r for r in runs if r.contestant not in settings.contestants or r.seed not in settings.seeds
    ]


def run_head_to_head(
    settings: Settings, out: Path, work: Path, *, append: bool = False, replace: bool = False
) -> dict[str, Any]:
    """Every contestant once per seed, one after another; OUT/head_to_head_DATA.{json,md,png}
    rewritten after each run, so a stopped benchmark keeps the runs it finished. With
    `append`, the runs already in OUT's JSON (the same settings but for the seeds and
    contestants) are kept and not run again: seeds and contestants can be run in several
    sittings. With `replace` too, this sitting's contestants and seeds are run again and
    their earlier runs dropped (an engine change moved their numbers); each run records
    the commit it measured."""
    out.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    stem = out / stem_name(settings)
    runs = earlier_runs(settings, stem.with_suffix(".json")) if append else []
    if replace:
        runs = without_sitting(runs, settings)
    data = work / "data.npz"
    meta = {"data": write_data(settings, data), "machine": machine()}
    if any(not c.startswith("jaxtune-") for c in settings.contestants):
        meta["torch_speed"] = torch_speed_check(steps=5 if settings.budget < 60 else 30)
    document: dict[str, Any] = {}
    for seed in settings.seeds:
        for contestant in settings.contestants:
            if any(r.contestant == contestant and r.seed == seed for r in runs):
                continue
            began = time.time()
            run = run_contestant(settings, contestant, seed, work / f"{contestant}_{seed}", data)
            run.extra["commit"] = source_commit()
            runs.append(run)
            print(
                f"{contestant} seed {seed}: best {_fmt(run.best_at(settings.budget))} "
                f"({run.tried} tried) in {time.time() - began:.0f} s",
                flush=True,
            )
            document = write_report(settings, runs, meta, stem)
    if not document:
        document = write_report(settings, runs, meta, stem)
    every = _with_seeds(settings, runs)  # this sitting's runs and the earlier ones
    print(markdown(every, summarize(every, runs), meta))
    return document


def _with_seeds(settings: Settings, runs: list[Run]) -> Settings:
    """The settings of what `runs` hold: their seeds, and every contestant run (in
    CONTESTANTS order; sittings may run different ones)."""
    ran = {r.contestant for r in runs} | set(settings.contestants)
    return dataclasses.replace(
        settings,
        seeds=tuple(sorted({r.seed for r in runs})),
        contestants=tuple(c for c in CONTESTANTS if c in ran),
    )


def write_report(settings: Settings, runs: list[Run], meta: dict, stem: Path) -> dict[str, Any]:
    """STEM.json, .md and .png of the runs so far."""
    settings = _with_seeds(settings, runs)
    summary = summarize(settings, runs)
    document = {"settings": dataclasses.asdict(settings), "meta": meta, **summary}
    stem.with_suffix(".json").write_text(json.dumps(document, indent=1) + "\n")
    stem.with_suffix(".md").write_text(markdown(settings, summary, meta))
    plot(settings, summary, stem.with_suffix(".png"))
    return document


def earlier_runs(settings: Settings, path: Path) -> list[Run]:
    """The runs of an earlier sitting, whose settings must equal these but for the seeds."""
    if not path.exists():
        return []
    document = json.loads(path.read_text())
    sitting = ("seeds", "contestants")  # what may differ between sittings
    mine = {k: v for k, v in dataclasses.asdict(settings).items() if k not in sitting}
    theirs = {k: v for k, v in document["settings"].items() if k not in sitting}
    mine = json.loads(json.dumps(mine))  # tuples as lists, as they come back from JSON
    # A setting added after the earlier sitting was written: it ran with the default.
    defaults = json.loads(json.dumps(dataclasses.asdict(Settings())))
    theirs = {k: theirs.get(k, defaults.get(k)) for k in {*mine, *theirs}}
    if mine != theirs:
        changed = sorted(k for k in mine if mine.get(k) != theirs.get(k))
        raise SystemExit(f"{path}: --append needs the same settings; these differ: {changed}")
    runs = []
    for row in document["contestants"].values():
        for run in row["runs"]:
            runs.append(Run(**{**run, "events": [tuple(e) for e in run["events"]]}))
    return runs


def main(argv: list[str] | None = None) -> None:
    import argparse

    root = Path(__file__).resolve().parents[2]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="emotion", help="a jaxtune data preset: emotion, sst2")
    # Relative to the repository root, where the benchmark runs (and what its JSON records).
    parser.add_argument("--data-dir", default="../shared/data")
    parser.add_argument("--budget", type=float, default=600.0, help="wall seconds per run")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--contestants", nargs="+", default=list(CONTESTANTS), choices=CONTESTANTS)
    parser.add_argument("--run-cap", type=int, default=32, help="jaxtune random: configs")
    parser.add_argument("--space", type=json.loads, default=None, help="the space, JSON")
    parser.add_argument("--quick", action="store_true", help="seconds per run, on a slice")
    parser.add_argument(
        "--glove", action="store_true", help="GloVe 50d, frozen or fine-tuned, for the embedding"
    )
    parser.add_argument(
        "--append", action="store_true", help="keep OUT's earlier runs (more seeds)"
    )
    parser.add_argument(
        "--replace",
        action="store_true",
        help="with --append: run these contestants and seeds again, dropping their earlier runs",
    )
    parser.add_argument(
        "--out", type=Path, default=root / "benchmarks" / "results" / "head_to_head"
    )
    parser.add_argument("--work", type=Path, default=root / "runs" / "head_to_head")
    args = parser.parse_args(argv)
    # Paths given from the caller's folder stay theirs; the default data folder is
    # taken from the repository root, where the runs start.
    args.out, args.work = args.out.resolve(), args.work.resolve()
    if args.data_dir != parser.get_default("data_dir"):
        args.data_dir = str(Path(args.data_dir).resolve())
    os.chdir(root)
    options = {"data": args.data, "contestants": tuple(args.contestants)}
    if args.space is not None:
        options["space"] = args.space
    if args.quick:
        settings = quick_settings(args.data_dir, **options)
    else:
        options |= {"budget": args.budget, "seeds": tuple(args.seeds), "run_cap": args.run_cap}
        settings = Settings(data_dir=args.data_dir, **options)
    if args.glove:
        settings = with_glove(settings)
    if args.replace and not args.append:
        parser.error("--replace goes with --append")
    run_head_to_head(settings, args.out, args.work, append=args.append, replace=args.replace)
