"""The loss contract: the mean error over a batch and its gradient, plus optional extras
that tell nnframe how to read the network's outputs and check targets."""

from __future__ import annotations

from typing import Any, ClassVar, Protocol, runtime_checkable

import attrs
import numpy as np

from nnframe.contracts.config import config_of
from nnframe.contracts.layer import Shape


@runtime_checkable
class LossProtocol(Protocol):
    """What a network needs from a loss. Any object with these members is a loss.

    Optional members, which nnframe uses when a loss has them (`Loss` supplies defaults):

    - ``takes_logits: bool``: the loss applies its own activation (softmax, sigmoid) to
      the network's raw outputs; a one-unit classifier is then read at 0, not 0.5.
    - ``probabilities(y_pred) -> ndarray | None``: class probabilities for the outputs
      (``predict``, ``nnframe predict``); None when the outputs are not class scores.
    - ``check_targets(y_true, output_shape) -> None``: raise `nnframe.DataError`, saying
      what to change, when targets cannot be compared with outputs of ``output_shape``
      (one sample, no batch axis). Run once before training and evaluation.
    """

    def forward(self, y_true: np.ndarray, y_pred: np.ndarray) -> float:
        """The mean loss over the batch, as a Python float (argument order as in Keras)."""

    def backward(self) -> np.ndarray:
        """dE/dy_pred for the last `forward` call, in the dtype and shape of ``y_pred``."""

    def get_config(self) -> dict[str, Any]:
        """JSON-safe constructor arguments that rebuild an equal loss."""


@attrs.define(eq=False)
class Loss:
    """Optional base class for losses: no target check, outputs that are not class scores,
    config from the attrs fields."""

    #: Whether `forward` takes raw scores (logits) and applies its own activation.
    takes_logits: ClassVar[bool] = False

    def forward(self, y_true: np.ndarray, y_pred: np.ndarray) -> float:
        """The mean loss over the batch."""
        raise NotImplementedError(f"{type(self).__name__} must implement forward()")

    def backward(self) -> np.ndarray:
        """dE/dy_pred for the last `forward` call."""
        raise NotImplementedError(f"{type(self).__name__} must implement backward()")

    def check_targets(self, y_true: np.ndarray, output_shape: Shape) -> None:
        """Raise `nnframe.DataError` when targets cannot be compared with the outputs."""

    def probabilities(self, y_pred: np.ndarray) -> np.ndarray | None:
        """Class probabilities for the network's outputs, or None (not a classifier)."""
        return None

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, read from the attrs fields."""
        return config_of(self)
