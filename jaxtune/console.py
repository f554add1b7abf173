"""What a sweep shows in the terminal: notices, the plan, a progress bar per epoch, the ranking."""

from __future__ import annotations

import math
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from jaxtune.engine import EpochReport
from jaxtune.merge import MergePolicy
from jaxtune.plan import PopulationPlan, static_groups
from jaxtune.replicates import config_key, replicated, summaries
from jaxtune.results import best_value, varying_hparams
from jaxtune.search import greedy
from jaxtune.space import STATIC, applies, hparams_of
from jaxtune.spec import SweepSpec
from jaxtune.tasks import TASKS, task_of


def _describe(plan: PopulationPlan) -> str:
    config = plan.trials[0].config
    merged = {"batch_size": sorted({v.batch_size for v in plan.variants})}
    for variant in plan.variants:
        for name, value in variant.widths:
            merged.setdefault(name, [])
            if value not in merged[name]:
                merged[name].append(value)
    static = [
        f"{n}={'/'.join(_fmt(v) for v in merged[n]) if merged.get(n) else _fmt(config[n])}"
        for n, p in hparams_of(config["architecture"]).items()
        # model_size is shown as what it sets: hidden_size and num_layers
        if p.kind == STATIC and n not in ("architecture", "model_size")
    ]
    kinds = sorted({_kind(v.optimizer, v.nesterov) for v in plan.variants if v.optimizer})
    if any(v.optimizer is None for v in plan.variants):
        kinds = ["union update"]
    elif not kinds:
        kinds = [_kind(config["optimizer"], config["nesterov"])]
    return f"{config['architecture']} " + " ".join(static) + f" {'/'.join(kinds)}"


def _kind(optimizer: str, nesterov: bool) -> str:
    return f"{optimizer}+nesterov" if nesterov else optimizer


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.4g}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(str(v) for v in value) + "]"
    return str(value)


def _padding(plan: PopulationPlan) -> str:
    pad = plan.slots - plan.width
    return f" (+{pad} inactive padding)" if pad else ""


def _mib(count: int) -> str:
    return f"{count / 2**20:,.0f} MiB" if count < 2**30 else f"{count / 2**30:,.1f} GiB"


class RichDisplay:
    def __init__(self, console: Console | None = None):
        if console is None:
            console = Console()
            if not console.is_terminal:  # logs and pipes: wide enough that no column is cut
                console = Console(width=160)
        self.console = console
        self.progress: Progress | None = None
        self.tasks: dict[int, Any] = {}
        self.task = TASKS["classify"]  # the spec's, once `plan` has seen it
        self.metric = self.task.default_metric

    def notice(self, message: str) -> None:
        self.console.print(f"[yellow]notice:[/] {message}")

    def data(self, report) -> None:
        for line in report.lines():
            self.console.print(line, markup=False, highlight=False)

    def plan(
        self,
        spec: SweepSpec,
        plans: list[PopulationPlan],
        merged: int,
        merge: MergePolicy | None = None,
    ) -> None:
        self.task = task_of(spec.task)
        self.metric = spec.metric
        if spec.method == "bayes":
            total = spec.run_cap or spec.budget.max_configs
            self.console.print(
                f"[bold]{spec.name}[/]: {spec.optuna_sampler} proposes {total} configs, "
                f"{spec.budget.ask_batch} per round, each round trained as populations; "
                f"metric {spec.metric} ({spec.goal})"
            )
            self._pruning(spec)
            self._start_progress()
            return
        if spec.method == "greedy":
            names = ", ".join(spec.parameters)
            self.console.print(
                f"[bold]{spec.name}[/]: greedy coordinate search over {names}; up to "
                f"{greedy.max_configs(spec.parameters)} configs, each iteration trained as "
                f"populations; metric {spec.metric} ({spec.goal})"
            )
            self._pruning(spec)
            self._start_progress()
            return
        trials = sum(p.width for p in plans)
        groups = len({p.group for p in plans})
        merged_note = f" ({merged} duplicate combinations merged)" if merged else ""
        self.console.print(
            f"[bold]{spec.name}[/]: {trials} configs{merged_note} in {groups} static "
            f"group(s), {len(plans)} population(s); metric {spec.metric} ({spec.goal})"
        )
        self._pruning(spec)
        if merge is not None:
            before = static_groups([t for p in plans for t in p.trials])
            self.console.print(
                f"  budget.merge {merge.mode}: {before} static group(s) -> {groups} "
                f"program(s); {merge.reason}"
            )
        compiles = len({(p.group, p.slots) for p in plans})
        peak = max((p.estimated_bytes for p in plans), default=0)
        chunk = plans[0].chunk if plans else None
        computed = "all configs at once" if chunk is None else f"{chunk} config(s) at a time"
        self.console.print(
            f"  {compiles} program(s) to compile; largest population needs ~{_mib(peak)} "
            f"(estimated); each step computes {computed}"
        )
        for index, plan in enumerate(plans):
            self.console.print(
                f"  population {index}: width {plan.width}{_padding(plan)}, "
                f"~{_mib(plan.estimated_bytes)}  "
                f"{_describe(plan)}"
            )
        self._start_progress()

    def _pruning(self, spec: SweepSpec) -> None:
        for rule in (spec.early_terminate, spec.scheduler):
            if rule is not None:
                self.console.print(f"  {rule.describe()}")

    def _start_progress(self) -> None:
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            console=self.console,
        )
        self.progress.start()

    def epoch(self, report: EpochReport) -> None:
        if report.population not in self.tasks:
            self.tasks[report.population] = self.progress.add_task(
                f"population {report.population} epoch", total=report.max_epochs, status=""
            )
        best = "" if report.best_value is None else f"best {self.metric} {report.best_value:.4f}"
        ended = ", ".join(
            f"{count} {name}"
            for name, count in (report.statuses or {}).items()
            if name != "running" and count
        )
        self.progress.update(
            self.tasks[report.population],
            completed=report.epoch,
            status=f"{report.active}/{report.width} active{f' ({ended})' if ended else ''}  {best}",
        )

    def population_done(self, index: int) -> None:
        if index in self.tasks:
            task = self.progress.tasks[self.tasks[index]]
            self.progress.update(self.tasks[index], completed=task.total)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()

    def ranking(
        self, records: list[dict[str, Any]], metric: str, limit: int = 20, task: str | None = None
    ) -> None:
        """The top `limit` records: the metric, then val_loss, then the task's other validation
        metrics (`task`: the spec's; default: the one `plan` saw, else classify)."""
        names = varying_hparams(records)
        table = Table(title=f"ranking by {metric} (best epoch of each config)")
        metrics = (self.task if task is None else task_of(task)).shown(metric)
        named = any(r.get("name") for r in records)
        columns = ["rank", "trial", *(["name"] if named else []), *names]
        means = {}  # seed replicates: each config's mean +- std (replicates.py)
        if replicated(records):
            means = {
                key: "-" if s.mean is None else f"{s.mean:.4f} ± {s.std:.4f}"
                for key, s in summaries(records, metric).items()
            }
            columns.append("config mean ± std")
        for column in [*columns, *metrics, "best epoch", "status"]:
            table.add_column(
                column,
                justify="left" if column in names or column == "name" else "right",
                style="bold" if column == metric else None,
                no_wrap=True,
            )
        seen = []
        for position, record in enumerate(records[:limit], start=1):
            best = record["best"] or {}
            value = best_value(record, metric)
            seen.append(record["trial_id"])
            table.add_row(
                str(position),
                str(record["trial_id"]),
                *([record.get("name") or "-"] if named else []),
                *[
                    _fmt(record["hparams"][n])
                    if applies(n, record["hparams"].get("architecture"))
                    else "n/a"
                    for n in names
                ],
                *([means[config_key(record["hparams"])]] if means else []),
                "-" if value is None else f"{value:.4f}",
                *(f"{best[m]:.4f}" if m in best else "-" for m in metrics[1:]),
                str(record["best_epoch"] or "-"),
                record["status"],
            )
        self.console.print(table)
        if len(records) > limit:
            self.console.print(f"({len(records) - limit} more in results.jsonl)")
