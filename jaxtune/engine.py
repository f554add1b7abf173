"""The sweep driver: for each planned population, run epochs until every config has finished.

The host sees only [K]-sized metrics between jitted calls; everything per-step stays on
device. Results are TrialRecords (records.py), one per trial, that `results.py` writes
and ranks; the data as each max_length sees it is views.py's.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jax
import numpy as np

from jaxtune.checkpoints import save_population_params, save_trial_params
from jaxtune.compaction import compaction
from jaxtune.data import bucketing
from jaxtune.data.dataset import TextDataset, epoch_batches
from jaxtune.data.widths import config_width
from jaxtune.models import build_classifier
from jaxtune.models.user import check_contract
from jaxtune.plan import PopulationPlan
from jaxtune.population.factory import Population, make_population
from jaxtune.population.hparams import hparam_arrays, trial_keys, variant_in
from jaxtune.population.lifecycle import stopping_args
from jaxtune.population.program import Variant, program_for
from jaxtune.population.status import EarlyStopping, Status
from jaxtune.precompile import precompile
from jaxtune.records import Outcome, Recorder, TrialRecord
from jaxtune.rounds import (
    Stream,
    Track,
    evaluation_rounds,
    steps_per_epoch,
    streaming_rounds,
    whole_epoch,
)
from jaxtune.schedulers.base import Prune, Standing, Verdict
from jaxtune.schedulers.pbt import PopulationBasedTraining
from jaxtune.snapshots import PopulationSnapshots
from jaxtune.space import KIND_NAMES, static_signature, user_architecture
from jaxtune.tasks import task_of
from jaxtune.views import DataView

if TYPE_CHECKING:
    from jaxtune.search.base import Supply


@dataclasses.dataclass
class EpochReport:
    """What the progress display learns after each epoch of a population."""

    population: int
    epoch: int
    max_epochs: int
    active: int
    width: int
    best_value: float | None  # best value of the sweep metric inside this population so far
    # the configs this evaluation recorded: (trial, its history so far, the new entry last)
    evaluated: tuple = ()
    # the population's slots by status now: running, completed, stopped, pruned, failed
    statuses: dict | None = None


# Minibatches per jitted call of a length bucket (data/bucketing.py). Longer blocks spread a
# call's fixed costs (each config's state sliced out of the population and written back,
# the lazy update's row lookup) over more steps; a block's trailing fill is not computed
# (population/factory.py). 16 vs 4: +14-17% config-steps/s at GRU B16 H64 (benchmarks/README.md).
BLOCK_STEPS = 16


def status_counts(status, occupant) -> dict[str, int]:
    """How many occupied slots are in each status ([K] Status codes; occupant [K], -1: empty)."""
    codes = np.asarray(status)[np.asarray(occupant) >= 0]
    return {Status(code).name.lower(): int((codes == code).sum()) for code in sorted(set(codes))}


class Engine:
    """Trains planned populations on one dataset; keeps one Population per static signature.

    With `buckets` (increasing lengths, the last the dataset's width T), each epoch is a
    seeded sequence of blocks of BLOCK_STEPS minibatches padded to one bucket length
    (`data/bucketing.py`), one jitted call each; without, an epoch is one jitted scan over
    minibatches of the full width. `embedding` [V, E] initialises every config's
    embedding table (pretrained vectors).
    """

    def __init__(
        self,
        dataset: TextDataset,
        *,
        seed: int,
        early_stopping: EarlyStopping,
        eval_batch_size: int = 256,
        metric: str = "val_accuracy",
        goal: str = "maximize",
        max_loss: float | None = 100.0,
        chunk: int | None = None,
        devices: int | None = None,
        buckets: tuple[int, ...] | None = None,
        embedding: np.ndarray | None = None,
        class_weights: tuple[float, ...] | None = None,
        params_dir: Path | None = None,
        eval_every: int | None = None,
        max_steps: int | None = None,
        embedding_update: str = "dense",
        unroll: int = 1,
    ):
        self.dataset = dataset
        self.params_dir = params_dir
        self.eval_every = eval_every  # steps between evaluations; None: every epoch
        self.max_steps = max_steps  # every config's step budget; None: its epochs
        self.seed = seed
        self.early_stopping = early_stopping
        self.metric = metric
        self.goal = goal
        self.max_loss = max_loss
        self.chunk = chunk
        self.devices = devices  # the config axis split over them (None: every device)
        self.buckets = buckets
        self.eval_batch_size = eval_batch_size
        self.embedding = None if embedding is None else jax.device_put(embedding)
        self.class_weights = class_weights
        self.embedding_update = embedding_update  # "dense" or "lazy" (embedding_rows.py)
        self.unroll = unroll  # timesteps per iteration of the recurrent scans
        self.recorder = Recorder(early_stopping, eval_every, max_loss, metric)
        self._views: dict[int, DataView] = {}
        self._populations: dict[tuple, Population] = {}
        self._widths: dict[tuple, set[int]] = {}  # each program's widths run (compiled)

    def view(self, config: dict[str, Any]) -> DataView:
        """The data at the config's max_length (built once per width, kept on device)."""
        width = config_width(config, self.dataset.train.max_length)
        if width not in self._views:
            self._views[width] = DataView.of(
                self.dataset, width, self.buckets, self.eval_batch_size
            )
        return self._views[width]

    def train_blocks(
        self, view: DataView, batch_size: int, epoch: int, multiple: int = 1
    ) -> list[bucketing.Block]:
        """The epoch's minibatches, the same for every config of one max_length; without
        buckets, one block whose rows are filled with empty steps to a `multiple`."""
        if view.buckets is None:
            index, weights = epoch_batches(len(view.train), batch_size, self.seed, epoch)
            fill = -len(index) % multiple
            index = np.concatenate([index, np.zeros((fill, batch_size), index.dtype)])
            weights = np.concatenate([weights, np.zeros((fill, batch_size), weights.dtype)])
            return [bucketing.Block(view.train.max_length, index, weights)]
        return bucketing.train_plan(
            view.train.lengths,
            batch_size,
            seed=self.seed,
            epoch=epoch,
            buckets=view.buckets,
            block_steps=BLOCK_STEPS,
        )

    @staticmethod
    def program_key(config: dict[str, Any], variants: tuple[Variant, ...] = ()) -> tuple:
        """What the program of a config depends on: its static signature, less what the
        variants of a merged program set."""
        merged = ()
        if variants:  # the program no longer depends on what its variants set
            merged = (*KIND_NAMES, "batch_size", *(name for name, _ in variants[0].widths))
        return static_signature(config, merged)

    def population(self, config: dict[str, Any], variants: tuple[Variant, ...] = ()) -> Population:
        """The jitted functions of the config's static signature (made once per signature);
        with `variants`, of the merged program whose configs run them (merge.py)."""
        signature = (self.program_key(config, variants), variants)
        if signature not in self._populations:
            program = program_for(
                config,
                self.dataset,
                self.class_weights,
                self.embedding_update,
                self.unroll,
                variants,
            )
            self._populations[signature] = make_population(
                program, self.early_stopping, chunk=self.chunk, devices=self.devices
            )
        return self._populations[signature]

    def build_failures(self, plan: PopulationPlan) -> list[TrialRecord]:
        """FAILED records of a population whose model cannot be built for the task (the
        text CNN has no per-step outputs for tag and ctc; a user module that breaks its
        contract with these static values, models/user.py), else []: its configs fail
        alone, the sweep's other populations run."""
        config = plan.all_trials[0].config  # one static signature: one architecture
        per_step = task_of(self.dataset.task).per_step
        try:
            build_classifier(
                config, self.dataset.vocab_size, self.dataset.num_classes, per_step=per_step
            )
            user = user_architecture(config["architecture"])
            if user is not None:
                check_contract(user, config, per_step=per_step)
        except ValueError as error:
            outcome = Outcome(Status.FAILED, 0, -1, 0, False, build_error=str(error))
            return [self.recorder.record(plan, t, [], outcome) for t in plan.all_trials]
        return []

    def run(
        self,
        plan: PopulationPlan,
        population_index: int = 0,
        on_epoch: Callable[[EpochReport], None] | None = None,
        snapshots: PopulationSnapshots | None = None,
        deadline: float | None = None,
        prune: Prune | None = None,
        data_epoch: int = 0,
        evolve: PopulationBasedTraining | None = None,
        supply: Supply | None = None,
    ) -> list[TrialRecord]:
        """Train one population to the end; one result record per trial it started.

        Evaluations come every epoch, or every `eval_every` steps (`rounds.py`); a
        history entry's `epoch` counts evaluations and `step` the optimizer steps. With
        `snapshots`, training starts from the newest snapshot if there is one and saves
        one every `snapshots.every` evaluations and after the last. Past `deadline` (a
        `time.monotonic()` value: the sweep's time limit) every active config stops at
        the evaluation just done, with its best evaluation's params. After each round
        `prune` (schedulers/: early_terminate, asha, hyperband) names active configs to
        end as PRUNED, the same way. With `evolve` (schedulers/pbt.py), every
        `perturbation_interval` evaluations the worst running configs copy the training
        state of the best and explore their hyperparameters (Population.exploit); each
        record's `lineage` says when, from whom and to which values.

        A streaming plan (`plan.queued`, plan.streamed) refills: after each round, each
        slot whose config has ended takes the next queued trial, from that trial's own
        initial params (`Population.refill`), until the queue is empty and every slot has
        ended. Its rounds are whole epochs (configs evaluated at each epoch's end); a
        trial that takes a slot in round j trains on the data epochs j, j + 1, ..., so it
        equals the trial trained alone with `data_epoch` j (the data epoch of round 0).
        With `supply` (method bayes), a freed slot the queue cannot fill asks it for a
        trial of this program, after telling it which trials have left their slots.
        """
        trials = list(plan.all_trials)
        streaming = bool(plan.queued) or supply is not None
        configs = [t.config for t in plan.trials]
        population = self.population(configs[0], plan.variants)
        # A merged program's stream is cut at its smallest batch size; a config of batch
        # size b steps on b / micro of its minibatches at a time (step.Variant).
        stream = Stream.of(configs, plan.variants)
        view = self.view(configs[0])  # max_length is static: one per population

        def epoch_blocks(epoch: int) -> list[bucketing.Block]:
            return self.train_blocks(
                view, stream.micro, data_epoch + epoch, multiple=max(stream.ratios)
            )

        first = epoch_blocks(0)
        per_epoch = steps_per_epoch(first)
        ratio_steps = {r: steps_per_epoch(first, r) for r in stream.ratios}
        base_view, view = view, view.on(population, plan.slots)
        widths = self._widths.setdefault(
            (self.program_key(configs[0], plan.variants), plan.variants), set()
        )
        widths.add(plan.slots)
        # Compaction (compaction.py): the slots of the plan's population each slot now
        # holds (its identity until the survivors move into a narrower one).
        compacted = np.arange(plan.slots)
        # Each slot's trial (index into `trials`); padding slots (plan.py), -1, copy the
        # first config and never train.
        occupant = np.full(plan.slots, -1)
        occupant[: plan.width] = np.arange(plan.width)

        def slot_configs() -> list[dict[str, Any]]:
            return [trials[max(t, 0)].config for t in occupant]

        def initial():
            """The slots' configs before their first step (hparams, keys, params)."""
            config_list = slot_configs()
            hparams = hparam_arrays(
                config_list,
                steps_per_epoch=[ratio_steps[stream.ratio(c)] for c in config_list],
                max_steps=self.max_steps,
                variants=plan.variants,
            )
            ids = [trials[max(t, 0)].trial_id for t in occupant]
            return hparams, population.init(hparams, trial_keys(self.seed, ids), self.embedding)

        hparams, state = initial()
        if plan.slots > plan.width:
            life = state.life
            state = state.replace(life=life.replace(active=life.active.at[plan.width :].set(False)))
        histories: list[list[dict]] = [[] for _ in trials]
        timed_out = np.zeros(plan.slots, bool)
        verdicts: dict[int, Verdict] = {}  # pruned trials: why
        joined = dict.fromkeys(range(plan.width), 0)  # each started trial's first round
        ended: dict[int, dict[str, Any]] = {}  # trials that left their slot: how, params
        lineage: dict[int, list[dict[str, Any]]] = {}  # PBT: each perturbed trial's events
        every = self.eval_every or per_epoch
        # Without buckets an epoch is cut into pieces of this many steps, whole minibatches
        # of every variant.
        piece = BLOCK_STEPS if view.buckets is not None else stream.whole(min(every, per_epoch))
        # Configs of one ratio and one step budget are evaluated together (rounds.Track).
        tracks = [
            Track(stream.ratio(c), int(total))
            for c, total in zip(slot_configs(), hparams["total_steps"], strict=True)
        ]
        if streaming:

            def rounds():
                for epoch in itertools.count():
                    yield whole_epoch(epoch_blocks(epoch), ratios=stream.ratios, piece=piece)

            max_epochs = streaming_rounds(plan.slots, [int(t.config["epochs"]) for t in trials])
        else:
            rounds = functools.partial(
                evaluation_rounds,
                epoch_blocks,
                ratios=stream.ratios,
                tracks=sorted(set(tracks), key=lambda t: (t.ratio, t.total)),
                every=self.eval_every,
                piece=piece,
            )
            # Rounds in all, and the evaluations each config would run to its budget.
            max_epochs, due_counts = 0, np.zeros(plan.slots, int)
            for round_ in rounds():
                max_epochs += 1
                due_counts += [track in round_.due for track in tracks]
            planned = due_counts[: plan.width].tolist()

        def planned_of(t: int) -> int:  # evaluations the trial's budget holds
            return int(trials[t].config["epochs"]) if streaming else int(planned[t])

        def record_of(t: int, how: dict[str, Any]) -> TrialRecord:
            outcome = Outcome(
                status=Status(how["status"]),
                best_epoch=how["best_epoch"],
                failed_step=how["failed_step"],
                epoch=how["epoch"],
                timed_out=how.get("timed_out", False),
                verdict=verdicts.get(t),
                planned=planned_of(t),
                data_epoch=data_epoch + joined[t],
            )
            record = self.recorder.record(plan, trials[t], histories[t], outcome)
            if how.get("params") is not None:
                record["params"] = how["params"]
            if t in lineage:
                record["lineage"] = lineage[t]
            return record

        def fits(config: dict[str, Any]) -> bool:  # a supplied config runs in this program
            return self.program_key(config, plan.variants) == self.program_key(
                configs[0], plan.variants
            ) and (not plan.variants or variant_in(config, plan.variants) in plan.variants)

        # Each variant's row of a call's bounds (the row of its ratio).
        rows = [stream.ratios.index(v.batch_size // stream.micro) for v in plan.variants]
        start = 0
        # Each config's train metrics since its last evaluation, and whether it was active
        # when that period began (a config that diverges in it is recorded at its end).
        carried = None
        pending = np.asarray(state.life.active).copy()
        if snapshots is not None and snapshots.latest_epoch() is not None:
            start = snapshots.latest_epoch()
            if "compacted" in (saved := snapshots.progress()):  # a narrower state
                compacted = np.asarray(saved["compacted"])
                state = population.compact(state, compacted)
                view = base_view.on(population, len(compacted))
                tracks = [tracks[i] for i in compacted]
                timed_out = timed_out[compacted]
                widths.add(len(compacted))
            state, progress = snapshots.restore(state)
            state = population.place(state)
            histories = progress["histories"]
            pending = np.asarray(progress.get("pending", np.asarray(state.life.active)), bool)
            if progress.get("carried") is not None:
                carried = {n: np.asarray(v, np.float32) for n, v in progress["carried"].items()}
            verdicts = {int(k): Verdict(**v) for k, v in progress.get("pruned", {}).items()}
            if "slots" in progress:
                occupant = np.asarray(progress["slots"]["occupant"])
                joined = {int(t): r for t, r in progress["slots"]["joined"].items()}
                ended = {int(t): e for t, e in progress["slots"]["ended"].items()}
            lineage = {int(t): events for t, events in progress.get("lineage", {}).items()}
            if supply is not None:
                supply.restore(progress.get("supply", 0))
                trials.extend(supply.trial(i) for i in progress.get("supplied", []))
        for epoch, round_ in enumerate(rounds()):
            if epoch < start:  # resumed: this round is in the snapshot
                continue
            if not pending.any():
                break
            due = np.ones(plan.slots, bool)
            if not streaming:
                due = np.array([t in round_.due for t in tracks])
            calls = [(call.block, call.bounds[rows or [0]]) for call in round_.calls]
            if epoch == start:  # every program of the round compiled at once, before it
                self.compile_ahead(population, state, view, calls)
            state, carried = self.train_calls(population, state, view, calls, carried)
            state, outcome = self.evaluate_round(population, state, view, carried, due, pending)
            reported = [k for k in np.flatnonzero(pending & due) if occupant[k] >= 0]
            for k in reported:
                history = histories[occupant[k]]
                ratio = stream.ratio(trials[occupant[k]].config)
                # A streaming round is a whole epoch of every ratio's steps.
                step = ratio_steps[ratio] * (len(history) + 1) if streaming else None
                step = round_.steps[ratio] if step is None else step
                history.append({"epoch": len(history) + 1, "step": step, **outcome[k]})
            pending = np.where(due, np.asarray(state.life.active), pending)
            if prune is not None:
                state, pending = self._prune(
                    prune,
                    population,
                    state,
                    pending,
                    occupant,
                    trials,
                    histories,
                    reported,
                    verdicts,
                )
            if evolve is not None:
                state = self._evolve(
                    evolve,
                    population,
                    state,
                    occupant,
                    trials,
                    histories,
                    reported,
                    lineage,
                    (population_index, epoch),
                )
            if carried is not None and due.all():
                carried = None
            elif carried is not None:
                carried = {name: np.where(due, 0, v) for name, v in carried.items()}
            if on_epoch is not None:
                on_epoch(
                    EpochReport(
                        population=population_index,
                        epoch=epoch + 1,
                        max_epochs=max(max_epochs, epoch + 1),
                        active=int(np.asarray(state.life.active).sum()),
                        width=plan.width,
                        best_value=self._best_value(histories),
                        evaluated=tuple(
                            (trials[occupant[k]], histories[occupant[k]]) for k in reported
                        ),
                        statuses=status_counts(state.life.status, occupant),
                    )
                )
            if deadline is not None and time.monotonic() > deadline:
                timed_out |= np.asarray(state.life.active)
                state = population.stop(state, timed_out, np.int32(Status.STOPPED))
                pending = np.zeros_like(pending)
            elif streaming:
                state, pending = self._refill(
                    population,
                    state,
                    pending,
                    occupant,
                    joined,
                    ended,
                    epoch + 1,
                    population_index,
                    trials,
                    initial,
                    supply and (supply, record_of, fits),
                )
                histories += [[] for _ in range(len(trials) - len(histories))]  # supplied
            if pending.any() and supply is None and len(trials) == len(joined):
                # Nothing can take a freed slot: the survivors into a narrower population
                # where that saves work (compaction.py).
                index = compaction(np.asarray(state.life.active), self.chunk, widths)
                if index is not None:
                    life = jax.device_get(state.life.replace(best_params=None))
                    for k in np.flatnonzero(~life.active):
                        if occupant[k] >= 0 and int(occupant[k]) not in ended:
                            self._leave(
                                state, life, k, int(occupant[k]), ended, population_index, trials
                            )
                    state = population.compact(state, index)
                    kept = np.arange(len(index)) < int(life.active.sum())
                    occupant = np.where(kept, occupant[index], -1)
                    pending, timed_out = pending[index] & kept, timed_out[index] & kept
                    tracks = [tracks[i] for i in index]
                    if carried is not None:
                        carried = {name: v[index] for name, v in carried.items()}
                    compacted = compacted[index]
                    view = base_view.on(population, len(index))
                    widths.add(len(index))
            if snapshots is not None:
                done = not pending.any() or (not streaming and epoch + 1 == max_epochs)
                progress = {"histories": histories, "pending": pending.tolist()}
                if verdicts:
                    progress["pruned"] = {k: dataclasses.asdict(v) for k, v in verdicts.items()}
                if carried is not None:
                    progress["carried"] = {n: v.tolist() for n, v in carried.items()}
                if lineage:
                    progress["lineage"] = lineage
                if len(compacted) < plan.slots:
                    progress["compacted"] = compacted.tolist()
                if streaming or len(compacted) < plan.slots:
                    progress["slots"] = {
                        "occupant": occupant.tolist(),
                        "joined": joined,
                        "ended": ended,
                    }
                if supply is not None:
                    progress["supply"] = supply.position()
                    progress["supplied"] = [t.trial_id for t in trials[len(plan.all_trials) :]]
                snapshots.maybe_save(epoch + 1, state, progress, last=done)
        life = jax.device_get(state.life.replace(best_params=None))
        checkpoint = None
        if self.params_dir is not None:
            checkpoint = save_population_params(
                self.params_dir, population_index, state.life.best_params
            )
        records = []
        for t in sorted(joined):
            if t in ended:
                how = ended[t]
            else:
                k = int(np.flatnonzero(occupant == t)[0])
                how = self._ending(life, k)
                how["timed_out"] = bool(timed_out[k])
                how["params"] = checkpoint and {"checkpoint": checkpoint, "slot": k}
            records.append(record_of(t, how))
        return records

    @staticmethod
    def _ending(life, k: int) -> dict[str, Any]:
        """How slot k's config ended, from the population's lifecycle (on the host)."""
        return {
            "status": int(life.status[k]),
            "best_epoch": int(life.best_epoch[k]),
            "failed_step": int(life.failed_step[k]),
            "epoch": int(life.epoch[k]),
        }

    @staticmethod
    def _prune(prune, population, state, pending, occupant, trials, histories, reported, verdicts):
        """End as PRUNED the active configs the rule names; their verdicts into `verdicts`."""
        active = np.asarray(state.life.active)
        running = np.zeros(len(trials), bool)
        held = occupant >= 0
        running[occupant[held]] = active[held]
        standing = Standing(
            [t.trial_id for t in trials],
            histories,
            running,
            [int(occupant[k]) for k in reported],
        )
        pruned = {t: v for t, v in prune(standing).items() if running[t]}
        if pruned:
            where = np.isin(occupant, list(pruned))
            state = population.stop(state, where, np.int32(Status.PRUNED))
            pending = pending & ~where
            verdicts.update(pruned)
        return state, pending

    def _evolve(
        self, pbt, population, state, occupant, trials, histories, reported, lineage, round_key
    ):
        """PBT after a round: the configs that reported their n-th evaluation, n a multiple
        of the interval and still running, ranked by it; the worst copy the best (in place:
        lineage)."""
        active = np.asarray(state.life.active)
        sign = 1.0 if self.goal == "maximize" else -1.0
        scores = {}
        for k in reported:
            history = histories[occupant[k]]
            value = history[-1].get(self.metric)
            if active[k] and pbt.due(len(history)) and value is not None and np.isfinite(value):
                scores[k] = sign * float(value)
        if len(scores) < 2:  # not a perturbation round (or one config left): no host copy
            return state
        names = [m.name for m in pbt.mutations]
        current = jax.device_get({name: state.train.hparams[name] for name in names})
        values = [{n: float(current[n][k]) for n in names} for k in range(len(occupant))]
        perturbations = pbt.perturb(scores, values, round_key)
        if not perturbations:
            return state
        source = np.arange(len(occupant))
        arrays = {n: np.array(current[n]) for n in names}
        for p in perturbations:
            source[p.slot] = p.source
            for name, value in p.hparams.items():
                arrays[name][p.slot] = value
            history = histories[occupant[p.slot]]
            lineage.setdefault(int(occupant[p.slot]), []).append(
                {
                    "epoch": len(history),
                    "copied": trials[occupant[p.source]].trial_id,
                    "hparams": p.hparams,
                }
            )
        return population.exploit(state, source.astype(np.int32), arrays)

    def _leave(self, state, life, k: int, t: int, ended, index: int, trials) -> None:
        """Slot k's trial t leaves its slot (in place: ended): how it ended (`life`: the
        population's lifecycle on the host), its best params saved."""
        ended[t] = self._ending(life, k)
        ended[t]["params"] = None
        if self.params_dir is not None:
            best = jax.tree.map(lambda leaf: leaf[k : k + 1], state.life.best_params)
            path = save_trial_params(self.params_dir, index, trials[t].trial_id, best)
            ended[t]["params"] = {"checkpoint": path, "slot": 0}

    def _refill(
        self,
        population,
        state,
        pending,
        occupant,
        joined,
        ended,
        round_,
        index,
        trials,
        initial,
        supplied=None,
    ):
        """Each slot whose config has ended takes the next queued trial (in place: occupant,
        joined, ended, trials); the config leaving is recorded in `ended`, its params saved.

        supplied: (supply, record_of, fits) where the queue runs short: the supply is told
        the records of the trials that have ended in a slot, then asked for one trial per
        slot the queue leaves free (`trials` grows by those it gives).
        """
        free = np.flatnonzero(~np.asarray(state.life.active))
        waiting = len(trials) - len(joined)
        life = None
        if supplied is not None and free.size > waiting:
            supply, record_of, fits = supplied
            life = jax.device_get(state.life.replace(best_params=None))
            supply.ended(
                [
                    record_of(int(occupant[k]), self._ending(life, k))
                    for k in free
                    if occupant[k] >= 0
                ]
            )
            for _ in range(free.size - waiting):
                trial = supply.take(fits)
                if trial is not None:
                    trials.append(trial)
            waiting = len(trials) - len(joined)
        take = free[:waiting]
        if not take.size:
            return state, pending
        if life is None:
            life = jax.device_get(state.life.replace(best_params=None))
        for k in take:
            if occupant[k] >= 0:
                self._leave(state, life, k, int(occupant[k]), ended, index, trials)
        for k in take:
            occupant[k] = len(joined)
            joined[len(joined)] = round_
        where = np.isin(np.arange(len(occupant)), take)
        _, fresh = initial()
        state = population.refill(state, fresh, where)
        return state, pending | where

    def train_round(
        self, population: Population, state, view: DataView, blocks: list[bucketing.Block]
    ) -> tuple[Any, list[dict[str, Any]]]:
        """Every config through whole blocks of minibatches, then the evaluation of every
        config and its lifecycle update (`Engine.run`'s loop body, every config due)."""
        state, sums = self.train_calls(population, state, view, blocks)
        return self.evaluate_round(population, state, view, sums)

    def compile_ahead(
        self,
        population: Population,
        state,
        view: DataView,
        calls: list[tuple[bucketing.Block, np.ndarray]],
    ) -> int:
        """Compile the programs a round calls before it runs (precompile.py), one thread
        per core: the training program of each block shape (one per length bucket) and the
        evaluation program of each validation bucket. Returns how many were lowered."""
        jobs, seen = [], set()
        for block, bounds in calls:
            key = (block.length, block.index.shape, bounds.shape)
            if key not in seen:
                seen.add(key)
                split = view.train_splits[block.length]
                args = (state, split, block.index, block.weight, self._max_loss(), bounds)
                jobs.append((population.train_round, args))
        wanted = np.ones(len(state.life.active), bool)  # [K]: only its shape matters here
        per_config = (state.train.params, population.eval_inputs(state.train.hparams), wanted)
        for block in view.val_plan.blocks:
            split = view.val_plan.splits[block.length]
            args = (per_config, split, block.index, block.weight)
            jobs.append((population.evaluate_totals, args))
        return precompile(jobs)

    def _max_loss(self):
        """The divergence bound as the traced scalar the training program takes."""
        return jax.numpy.float32(np.inf if self.max_loss is None else self.max_loss)

    def train_calls(
        self,
        population: Population,
        state,
        view: DataView,
        calls: list[bucketing.Block | tuple[bucketing.Block, np.ndarray]],
        carried: dict[str, np.ndarray] | None = None,
    ) -> tuple[Any, dict[str, np.ndarray]]:
        """Every config through a round's calls: blocks of minibatches, each whole or with
        the rows [lo, hi) each variant steps on ([V, 2], rounds.Call).

        Returns the new state and the train metrics ([K] sums: loss_sum, correct, count)
        added to `carried` (those of configs not evaluated since).
        """
        max_loss = self._max_loss()
        sums = carried
        for call in calls:
            block, bounds = call if isinstance(call, tuple) else (call, None)
            state, metrics = population.train_round(
                state, view.train_splits[block.length], block.index, block.weight, max_loss, bounds
            )
            sums = metrics if sums is None else jax.tree.map(jax.numpy.add, sums, metrics)
        return state, None if sums is None else jax.device_get(sums)

    def evaluate_round(
        self,
        population: Population,
        state,
        view: DataView,
        sums: dict[str, np.ndarray] | None,
        due: np.ndarray | None = None,
        pending: np.ndarray | None = None,
    ) -> tuple[Any, list[dict[str, Any]]]:
        """The evaluation at a round's end and its lifecycle update.

        due: [K] bool, the configs this evaluation is for (rounds.Track); None: every
        config. pending: [K] bool, the configs whose evaluation is recorded (active when
        their period began); None: the active ones.

        Returns the new state and, for every slot, what its history entry records: train
        loss and accuracy over `sums`, the validation metrics, and the learning rate its
        next step uses (a slot that is neither due nor pending: values nobody reads).
        """
        wanted = None
        if due is not None:
            live = np.asarray(state.life.active) if pending is None else pending
            wanted = live & due
        val = view.val_plan.evaluate(population, state.train.params, state.train.hparams, wanted)
        state, rates = population.after_evaluation(
            state, val, *stopping_args(self.early_stopping), due
        )
        metrics = task_of(self.dataset.task).metrics
        val, rates = jax.device_get(({k: val[k] for k in (*metrics, "per_class_accuracy")}, rates))
        if sums is None:  # no step since the last evaluation
            sums = dict.fromkeys(("loss_sum", "correct", "count"), np.zeros(len(rates)))
        outcome = []
        for k in range(len(rates)):
            count = max(float(sums["count"][k]), 1.0)
            outcome.append(
                {
                    "train_loss": float(sums["loss_sum"][k]) / count,
                    "train_accuracy": float(sums["correct"][k]) / count,
                    **{f"val_{m}": float(val[m][k]) for m in metrics},
                    "learning_rate": float(rates[k]),  # the rate the next step uses
                    "val_per_class_accuracy": [
                        None if np.isnan(a) else float(a) for a in val["per_class_accuracy"][k]
                    ],
                }
            )
        return state, outcome

    def _best_value(self, histories) -> float | None:
        values = [
            h[self.metric] for history in histories for h in history if np.isfinite(h[self.metric])
        ]
        if not values:
            return None
        return max(values) if self.goal == "maximize" else min(values)
