"""Sequence classifier: embedding -> encoder (RNN or CNN) -> dropout -> dense logits, one
set per text, or per step for the tag and ctc tasks (a recurrent encoder's outputs)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import flax.linen as nn
import jax

from jaxtune.models.cnn import CNNEncoder
from jaxtune.models.dropout import dropout
from jaxtune.models.rnn import RNNEncoder
from jaxtune.models.user import build_module
from jaxtune.space import user_architecture

EMBEDDING = "embedding"  # top-level parameter collection of the embedding table


class SequenceClassifier(nn.Module):
    """tokens -> logits, also callable in two parts: `embed` (the table lookup) and `classify`.

    The lazy embedding update looks tokens up in a row view of the table itself and runs
    `classify` on the result (population/step.py, embedding_rows.py).
    """

    encoder: nn.Module
    vocab_size: int
    embedding_dim: int
    num_classes: int
    user: bool = False  # a user's module as the encoder (models/user.py's contract)
    # its traced hyperparameters' defaults, ((name, value), ...): what `init` traces with
    dynamic_defaults: tuple[tuple[str, float], ...] = ()

    def setup(self):
        # Attribute names are the parameter collections: "embedding" is EMBEDDING.
        self.embedding = nn.Embed(self.vocab_size, self.embedding_dim)
        self.head = nn.Dense(self.num_classes)

    def __call__(self, tokens, lengths, **kwargs):
        """tokens: [B, T] int32, lengths: [B] int32 -> logits [B, C]; kwargs as `classify`."""
        return self.classify(self.embed(tokens), lengths, **kwargs)

    def embed(self, tokens):
        """tokens: [B, T] int32 -> embedded inputs [B, T, E]."""
        return self.embedding(tokens)

    def classify(
        self,
        xs,
        lengths,
        *,
        dropout_rate=0.0,
        recurrent_dropout_rate=0.0,
        hparams=None,
        key=None,
        train=False,
    ):
        """xs: [B, T, E] embedded inputs, lengths: [B] int32 -> logits [B, C] ([B, T, C]
        with a per-step encoder: tag and ctc).

        `key` is needed only with `train=True`; rates may be traced scalars; `hparams`: a
        user module's traced hyperparameters ({name: scalar}).
        """
        encoder_key = output_key = None
        if train:
            encoder_key, output_key = jax.random.split(key)
        if self.user:
            values = {**dict(self.dynamic_defaults), **(hparams or {})}
            features = self.encoder(xs, lengths, values, key=encoder_key, train=train)
        else:
            features = self.encoder(
                xs,
                lengths,
                dropout_rate=dropout_rate,
                recurrent_dropout_rate=recurrent_dropout_rate,
                key=encoder_key,
                train=train,
            )  # [B, D], or [B, T, D] per step
        if train:
            features = dropout(output_key, dropout_rate, features)
        return self.head(features)  # [B, C] or [B, T, C]


def build_classifier(
    config: Mapping[str, Any],
    vocab_size: int,
    num_classes: int,
    *,
    fused_backward: bool = True,
    scan_unroll: int = 1,
    per_step: bool = False,
):
    """The model for a complete config's static hyperparameters.

    `fused_backward=False` differentiates the recurrent scans with plain autodiff (the
    reference the fused backward pass is tested against). `per_step`: logits at every
    input step (the tag and ctc tasks), which a recurrent encoder gives, or a user module
    that keeps the per-step contract (models/user.py).
    """
    user = user_architecture(config["architecture"])
    if user is not None:
        encoder = build_module(user, config)
        defaults = tuple((name, p.default) for name, p in user.dynamic.items())
        return SequenceClassifier(
            encoder, vocab_size, config["embedding_dim"], num_classes, True, defaults
        )
    if config["architecture"] == "cnn":
        if per_step:
            raise ValueError("the text CNN pools over time: it has no per-step outputs")
        encoder = CNNEncoder(tuple(config["filter_sizes"]), config["num_filters"])
    else:
        encoder = RNNEncoder(
            cell=config["architecture"],
            hidden_size=_hashable(config["hidden_size"]),  # a JSON record gives a list
            num_layers=config["num_layers"],
            bidirectional=config["bidirectional"],
            activation=config["rnn_activation"],
            fused_backward=fused_backward,
            unroll=scan_unroll,
            per_step=per_step,
        )
    return SequenceClassifier(encoder, vocab_size, config["embedding_dim"], num_classes)


def _hashable(value):
    return tuple(value) if isinstance(value, list) else value
