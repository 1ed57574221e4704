"""The model in use: the network a view answers with, its metadata, and the name it is shown by."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from nn.files.model_file import ModelInfo
from nn.network import Network
from nn.session.explain import Explainer
from nn.session.learning import dream


@dataclass(frozen=True)
class ModelInUse:
    """The network the views answer with, its metadata, and the name they show it by."""

    net: Network
    info: ModelInfo
    name: str  # e.g. data/pretrained_cnn.npz
    # which model this is, for a phone that reads with a copy of its weights: the teacher switched?
    serial: int = field(default_factory=itertools.count(1).__next__, compare=False)

    @property
    def accuracy(self) -> float | None:
        """Its accuracy on MNIST's test set, as its file records it (0-1), or None."""
        test = self.info.accuracy.get("test")
        return test if isinstance(test, float) else None

    @property
    def title(self) -> str:
        """data/pretrained_cnn.npz (99.64% on MNIST test)"""
        return self.name + (f" ({self.accuracy:.2%} on MNIST test)" if self.accuracy is not None else "")

    @cached_property
    def dreams(self) -> np.ndarray:
        """(10, 784): what the network thinks each digit looks like (nn/session/learning.py),
        found the first time it is asked for (under a second for the shipped models)."""
        return dream(self.net)

    @cached_property
    def explainer(self) -> Explainer:
        """A float64 copy of the network for the inside view, made the first time it is asked for."""
        return Explainer(self.net)
