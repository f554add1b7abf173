"""Models written for one config: recurrent cells, RNN and CNN encoders, the classifier."""

from jaxtune.models.classifier import EMBEDDING, SequenceClassifier, build_classifier

__all__ = ["EMBEDDING", "SequenceClassifier", "build_classifier"]
