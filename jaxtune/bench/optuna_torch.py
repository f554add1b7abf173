"""The head-to-head's per-trial contestant: Optuna driving PyTorch, one trial at a time.

What a careful user writes instead of jaxtune (needs the `torch` extra): an Optuna study
(TPESampler with a HyperbandPruner or MedianPruner) whose objective trains one PyTorch
GRU / LSTM classifier on jaxtune's token ids, reports the validation accuracy after
every epoch (`trial.report`, `should_prune`) and stops early on the validation loss.
The classifier is jaxtune's (models/classifier.py): embedding, dropout, a recurrent
layer whose state at each example's last token goes through dropout to a dense layer.
Batches are length-bucketed as jaxtune's: the epoch's shuffle sorted by length inside
chunks of 64 batches, each batch cut to its longest example, the batches in a shuffled
order; nothing syncs with the host inside an epoch.

Run as `python -m jaxtune.bench.optuna_torch --data DATA.npz --events EVENTS.jsonl ...`.
Several such processes sharing one `--storage` (an Optuna journal file) are Optuna's
way to use several cores: `n_jobs` processes, one thread each. Every evaluation is
appended to EVENTS as it happens (time.time(), trial, epoch, validation metrics), each
trial's end too; after the deadline, the process's best trial (highest validation
accuracy at its best-loss epoch, the params kept from there) is evaluated once on the
test split and written as the last line.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from jaxtune.data.bucketing import CHUNK_BATCHES, sorted_in_chunks


def search_space(trial, space: dict[str, Any]) -> dict[str, Any]:
    """A config from the head-to-head's space (head_to_head.SPACE's form)."""
    config = {}
    for name, values in space.items():
        if isinstance(values, list):
            config[name] = trial.suggest_categorical(name, values)
        elif values.get("log"):
            config[name] = trial.suggest_float(name, values["min"], values["max"], log=True)
        else:
            config[name] = trial.suggest_float(name, values["min"], values["max"])
    return config


def build_model(
    config: dict[str, Any], vocab_size: int, num_classes: int, vectors: np.ndarray | None = None
):
    """jaxtune's classifier in PyTorch; with `vectors` ([V, D], pretrained) the embedding
    starts from them and is frozen unless config["embedding_trainable"]."""
    import torch
    from torch import nn

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            if vectors is None:
                self.embedding = nn.Embedding(vocab_size, config["embedding_dim"], padding_idx=0)
            else:
                self.embedding = nn.Embedding.from_pretrained(
                    torch.from_numpy(np.asarray(vectors, np.float32)),
                    freeze=not config.get("embedding_trainable", True),
                    padding_idx=0,
                )
            width = self.embedding.embedding_dim
            self.dropout = nn.Dropout(config["dropout"])
            kind = {"gru": nn.GRU, "lstm": nn.LSTM}[config["architecture"]]
            self.rnn = kind(width, config["hidden_size"], batch_first=True)
            self.head = nn.Linear(config["hidden_size"], num_classes)

        def forward(self, tokens, lengths):
            xs = self.dropout(self.embedding(tokens))  # [B, T, E]
            outputs, _ = self.rnn(xs)  # [B, T, H]
            # The state after each example's last token: a recurrent layer reads left to
            # right, so the padding after it changes nothing there (packing the batch
            # gives the same, slower on this CPU: benchmarks/README.md).
            last = outputs[torch.arange(len(lengths)), lengths - 1]  # [B, H]
            return self.head(self.dropout(last))  # [B, C]

    return Classifier()


def bucketed_batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator):
    """An epoch's batches of example ids in jaxtune's order (data/bucketing.py): the
    shuffle sorted by length inside chunks of CHUNK_BATCHES batches, the batches shuffled."""
    return sorted_in_chunks(lengths, batch_size, rng, CHUNK_BATCHES)


class Data:
    """The splits of a head-to-head's DATA.npz as torch tensors."""

    def __init__(self, path: Path):
        import torch

        arrays = np.load(path)
        self.vocab_size = int(arrays["vocab_size"])
        self.num_classes = int(arrays["num_classes"])
        self.vectors = arrays["embedding"] if "embedding" in arrays.files else None  # [V, D]
        self.splits = {}
        for split in ("train", "val", "test"):
            self.splits[split] = (
                torch.from_numpy(arrays[f"{split}_tokens"].astype(np.int64)),
                arrays[f"{split}_lengths"].astype(np.int64),
                torch.from_numpy(arrays[f"{split}_labels"].astype(np.int64)),
            )

    def batch(self, split: str, ids: np.ndarray):
        import torch

        tokens, lengths, labels = self.splits[split]
        width = max(int(lengths[ids].max()), 1)
        index = torch.from_numpy(ids)
        return tokens[index, :width], torch.from_numpy(np.maximum(lengths[ids], 1)), labels[index]


def evaluate(model, data: Data, split: str, batch_size: int = 256) -> tuple[float, float]:
    """(mean loss, accuracy) on a split, in length-sorted batches."""
    import torch

    lengths = data.splits[split][1]
    order = np.argsort(lengths, kind="stable")
    loss, correct = 0.0, 0
    model.eval()
    with torch.no_grad():
        for start in range(0, len(order), batch_size):
            tokens, lens, labels = data.batch(split, order[start : start + batch_size])
            logits = model(tokens, lens)
            loss += float(torch.nn.functional.cross_entropy(logits, labels, reduction="sum"))
            correct += int((logits.argmax(dim=1) == labels).sum())
    model.train()
    return loss / len(order), correct / len(order)


class Worker:
    """One process of the contestant: its study, its events, its best trial's params."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.data = Data(Path(args.data))
        self.space = json.loads(args.space)
        self.shapes = (self.data.vocab_size, self.data.num_classes, self.data.vectors)
        self.best: tuple | None = None  # (value, trial number, state_dict, config)
        self.events = open(args.events, "a", encoding="utf-8")  # noqa: SIM115

    def log(self, **event) -> None:
        self.events.write(json.dumps({"time": time.time(), **event}) + "\n")
        self.events.flush()

    def objective(self, trial) -> float:
        import optuna
        import torch

        config = {**self.args.fixed, **search_space(trial, self.space)}
        torch.manual_seed(self.args.seed * 100_003 + trial.number)
        rng = np.random.default_rng([self.args.seed, trial.number])
        model = build_model(config, *self.shapes)
        optimizers = {"adam": torch.optim.Adam, "rmsprop": torch.optim.RMSprop}
        optimizer = optimizers[config["optimizer"]](model.parameters(), lr=config["learning_rate"])
        best_loss, best_value, best_state, bad = math.inf, 0.0, None, 0
        steps, train_seconds = 0, 0.0
        lengths = self.data.splits["train"][1]
        for epoch in range(self.args.max_epochs):
            began = time.perf_counter()
            for ids in bucketed_batches(lengths, config["batch_size"], rng):
                if time.time() > self.args.deadline:  # the wall budget is spent
                    break
                tokens, lens, labels = self.data.batch("train", ids)
                optimizer.zero_grad(set_to_none=True)
                loss = torch.nn.functional.cross_entropy(model(tokens, lens), labels)
                loss.backward()
                optimizer.step()
                steps += 1
            train_seconds += time.perf_counter() - began
            if time.time() > self.args.deadline:
                break
            val_loss, val_accuracy = evaluate(model, self.data, "val")
            self.log(
                trial=trial.number, epoch=epoch + 1, val_loss=val_loss, val_accuracy=val_accuracy
            )
            if not math.isfinite(val_loss):
                self.end(trial, "fail", None, steps, train_seconds)
                return float("nan")
            if val_loss < best_loss:  # early stopping and restore-best on the validation loss
                best_loss, best_value, bad = val_loss, val_accuracy, 0
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            else:
                bad += 1
            trial.report(val_accuracy, epoch)
            if trial.should_prune():
                self.end(trial, "pruned", best_value, steps, train_seconds)
                raise optuna.TrialPruned()
            if bad >= self.args.patience or time.time() > self.args.deadline:
                break
        # "cut": stopped by the wall budget, not by its epochs or early stopping.
        state = "cut" if time.time() > self.args.deadline else "complete"
        self.end(trial, state, None if best_state is None else best_value, steps, train_seconds)
        if best_state is not None and (self.best is None or best_value > self.best[0]):
            self.best = (best_value, trial.number, best_state, config)
        return best_value

    def end(self, trial, state: str, value, steps: int, seconds: float) -> None:
        self.log(trial=trial.number, state=state, value=value, steps=steps, train_seconds=seconds,
                 params=trial.params)  # fmt: skip

    def run(self) -> None:
        import optuna

        pruners = {
            "hyperband": lambda: optuna.pruners.HyperbandPruner(
                min_resource=1, max_resource=self.args.max_epochs, reduction_factor=3
            ),
            "median": lambda: optuna.pruners.MedianPruner(n_warmup_steps=1),
            "none": optuna.pruners.NopPruner,
        }
        storage = None
        if self.args.storage:
            from optuna.storages.journal import JournalFileBackend, JournalStorage

            storage = JournalStorage(JournalFileBackend(self.args.storage))
        study = optuna.create_study(
            study_name="head_to_head",
            storage=storage,
            load_if_exists=True,
            direction="maximize",
            sampler=optuna.samplers.TPESampler(seed=self.args.seed * 1000 + self.args.worker),
            pruner=pruners[self.args.pruner](),
        )
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        remaining = self.args.deadline - time.time()
        study.optimize(self.objective, timeout=max(remaining, 0.0), catch=(RuntimeError,))
        self.final()

    def final(self) -> None:
        """The best trial of this process, evaluated once on the test split."""
        if self.best is None:
            self.log(final=None)
            return
        value, number, state, config = self.best
        model = build_model(config, *self.shapes)
        model.load_state_dict(state)
        test_loss, test_accuracy = evaluate(model, self.data, "test")
        self.log(final={"trial": number, "value": value, "test_accuracy": test_accuracy,
                        "test_loss": test_loss, "config": config})  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="DATA.npz (head_to_head.write_data)")
    parser.add_argument("--events", required=True, help="JSONL file the events are appended to")
    parser.add_argument("--deadline", type=float, required=True, help="time.time() to stop at")
    parser.add_argument("--space", required=True, help="the search space, JSON")
    parser.add_argument("--fixed", type=json.loads, default={}, help="fixed hparams, JSON")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--worker", type=int, default=0)
    parser.add_argument("--pruner", choices=("hyperband", "median", "none"), default="hyperband")
    parser.add_argument("--storage", default=None, help="an Optuna journal file to share")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--max-epochs", type=int, default=10)
    parser.add_argument("--patience", type=int, default=3)
    args = parser.parse_args(argv)
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    Worker(args).run()


if __name__ == "__main__":
    main()
