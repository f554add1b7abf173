"""The PyTorch baseline: the same classifier, one config at a time (needs the `torch` extra).

On the CPU by default; a case with `torch_device: cuda` runs it on the GPU, where
`nn.LSTM` / `nn.GRU` are cuDNN's fused kernels (the accelerator check).
"""

from __future__ import annotations

import functools
import os
from typing import Any

import numpy as np


def build_torch_model(config: dict[str, Any], vocab_size: int, num_classes: int):
    import torch
    from torch import nn

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(vocab_size, config["embedding_dim"])
            self.dropout = nn.Dropout(config["dropout"])
            arch = config["architecture"]
            if arch == "cnn":
                self.convs = nn.ModuleList(
                    nn.Conv1d(config["embedding_dim"], config["num_filters"], width)
                    for width in config["filter_sizes"]
                )
                features = config["num_filters"] * len(config["filter_sizes"])
            else:
                kind = {"gru": nn.GRU, "lstm": nn.LSTM, "rnn": nn.RNN}[arch]
                extra = {"nonlinearity": config["rnn_activation"]} if arch == "rnn" else {}
                self.rnn = kind(
                    config["embedding_dim"],
                    config["hidden_size"],
                    num_layers=config["num_layers"],
                    batch_first=True,
                    bidirectional=config["bidirectional"],
                    **extra,
                )
                features = config["hidden_size"] * (2 if config["bidirectional"] else 1)
            self.head = nn.Linear(features, num_classes)

        def forward(self, tokens):
            xs = self.dropout(self.embedding(tokens))  # [B, T, E]
            if config["architecture"] == "cnn":
                xs = xs.transpose(1, 2)  # [B, E, T]
                pooled = [torch.relu(conv(xs)).amax(dim=2) for conv in self.convs]
                features = torch.cat(pooled, dim=1)
            else:
                outputs, _ = self.rnn(xs)  # full-length sequences: the last step is the end
                features = outputs[:, -1]
            return self.head(self.dropout(features))

    return Classifier()


def _epoch(model, optimizer, batches) -> float:
    import torch

    loss_fn = torch.nn.CrossEntropyLoss()
    for tokens, labels in batches:
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(tokens), labels)
        loss.backward()
        optimizer.step()
    return float(loss.detach())


def measure_torch(
    case: dict[str, Any], configs_count: int, steps: int, repeats: int, target_seconds: float
) -> dict[str, Any]:
    import torch

    from jaxtune.bench.workload import peak_rss_bytes, population_configs, timed_calls, workload

    torch.set_num_threads(os.cpu_count() or 1)
    device = torch.device(case.get("torch_device", "cpu"))
    config, split, index, _ = workload(case, steps)
    tokens = torch.from_numpy(split.tokens).long().to(device)
    labels = torch.from_numpy(split.labels).long().to(device)
    rows = (torch.from_numpy(row).long().to(device) for row in index)
    batches = [(tokens[i], labels[i]) for i in rows]
    per_config = []
    for k, one in enumerate(population_configs(config, configs_count)):
        torch.manual_seed(k)
        model = build_torch_model(one, case["vocab_size"], case["num_classes"]).to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=one["learning_rate"])
        epoch = functools.partial(_epoch, model, optimizer, batches)
        seconds, _ = timed_calls(epoch, repeats, target_seconds)
        per_config.append(seconds / steps)
    seconds_per_step = float(np.median(per_config))
    return {
        "configs": configs_count,
        "seconds_per_config_step": seconds_per_step,
        "config_steps_per_s": 1.0 / seconds_per_step,
        "threads": torch.get_num_threads(),
        "torch_version": torch.__version__,
        "torch_device": str(device),
        "peak_rss_bytes": peak_rss_bytes(),
    }
