"""The metric contract: a score accumulated over batches, reported per epoch."""

from __future__ import annotations

from typing import Any, ClassVar, Protocol, runtime_checkable

import attrs
import numpy as np

from nnframe.core.contracts.config import config_of
from nnframe.core.contracts.layer import Shape


@runtime_checkable
class MetricProtocol(Protocol):
    """What training and evaluation need from a metric. Any object with these members is one.

    A metric sees every batch through `update` and gives its value over all of them with
    `result`, so that scores such as F1 are computed over the whole data set, not averaged
    over batches. Members a metric may have besides these are declared by
    `MetricOptions`.
    """

    name: str
    """The key of the metric in training logs and `History`: ``"f1"``,
    ``"top_5_accuracy"`` (``"val_f1"`` on validation data)."""
    higher_is_better: bool
    """Whether larger values are better (early stopping and plateau schedules read it)."""

    def reset(self) -> None:
        """Forget every batch seen so far."""

    def update(self, y_true: np.ndarray, y_pred: np.ndarray) -> None:
        """Take one batch of targets and network outputs."""

    def result(self) -> float:
        """The score over every batch since the last `reset`."""

    def get_config(self) -> dict[str, Any]:
        """JSON-safe constructor arguments."""


class MetricOptions(Protocol):
    """Members a metric may have; training and evaluation use each one a metric has."""

    def prepare(self, output_shape: Shape, loss: Any, targets: np.ndarray) -> None:
        """Before the first `update` of a run: one output sample's shape, the loss (whose
        ``takes_logits`` says how to read a single output unit) and every target."""

    def applies(self, targets: np.ndarray, output_shape: Shape, loss: Any) -> bool:
        """Whether a whole set of targets suits the metric: training reports the
        built-in accuracy unasked when it says so."""


@attrs.define(eq=False)
class Metric:
    """Optional base class for metrics: `prepare` records how outputs are read."""

    higher_is_better: ClassVar[bool] = True
    """Larger is better (override as a class attribute)."""
    output_shape: Shape | None = attrs.field(init=False, default=None, repr=False)
    """One output sample's shape, set by `prepare`."""
    takes_logits: bool = attrs.field(init=False, default=False, repr=False)
    """Whether the run's loss takes logits, set by `prepare`."""

    @property
    def name(self) -> str:
        """The log key; by default the class name in lower case."""
        return type(self).__name__.lower()

    def prepare(self, output_shape: Shape, loss: Any = None,
                targets: np.ndarray | None = None) -> None:
        """Remember one output sample's shape and whether the loss takes logits (a
        subclass may also learn from the whole set of ``targets``, such as their coding)."""
        self.output_shape = tuple(output_shape)
        self.takes_logits = bool(getattr(loss, "takes_logits", False))

    def reset(self) -> None:
        """Forget every batch seen so far (subclasses implement it)."""
        raise NotImplementedError(f"{type(self).__name__} must implement reset()")

    def update(self, y_true: np.ndarray, y_pred: np.ndarray) -> None:
        """Take one batch (subclasses implement it)."""
        raise NotImplementedError(f"{type(self).__name__} must implement update()")

    def result(self) -> float:
        """The score so far (subclasses implement it)."""
        raise NotImplementedError(f"{type(self).__name__} must implement result()")

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, read from the attrs fields."""
        return config_of(self)
