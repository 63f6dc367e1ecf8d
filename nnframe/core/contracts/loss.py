"""The loss contract: the mean error over a batch and its gradient, optionally weighted."""

from __future__ import annotations

import inspect
from typing import Any, ClassVar, Protocol, runtime_checkable

import attrs
import numpy as np

from nnframe.core.contracts.config import config_of
from nnframe.core.contracts.layer import Shape


@runtime_checkable
class LossProtocol(Protocol):
    """What a network needs from a loss. Any object with these members is a loss; the
    members it may have besides are declared by `LossOptions`."""

    def forward(self, y_true: np.ndarray, y_pred: np.ndarray) -> float:
        """The mean loss over the batch, as a Python float (argument order as in Keras).

        A loss may also take ``sample_weight=None``, a float array of shape (N,): then the
        mean is sum_i(w_i * l_i) / sum_i(w_i), with l_i sample i's loss (see
        `accepts_sample_weight`)."""

    def backward(self) -> np.ndarray:
        """dE/dy_pred for the last `forward` call, in the dtype and shape of ``y_pred``."""

    def get_config(self) -> dict[str, Any]:
        """JSON-safe constructor arguments that rebuild an equal loss."""


def accepts_sample_weight(loss: Any) -> bool:
    """Whether ``loss.forward`` takes per-sample weights: a parameter named
    ``sample_weight`` (or ``**kwargs``). nnframe gives weights only to a loss that does.

    The contract of the argument: ``forward(y_true, y_pred, sample_weight=None) -> float``,
    ``sample_weight`` None or an array of shape (N,) of numbers >= 0. With the mean, the
    value is sum_i(w_i * l_i) / sum_i(w_i), with l_i sample i's (unweighted) loss (the mean
    over its outputs), and `backward` is its gradient; weights all 1 give the unweighted
    value. A loss whose samples carry weights of their own (cross-entropy's class
    ``weight``) divides by sum_i(w_i * weight[y_i]) instead, as PyTorch does.
    """
    try:
        parameters = inspect.signature(loss.forward).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "sample_weight" or p.kind is p.VAR_KEYWORD for p in parameters)


class LossOptions(Protocol):
    """Members a loss may have; nnframe uses each one a loss has."""

    takes_logits: bool
    """The loss applies its own activation (softmax, sigmoid) to the raw outputs: metrics
    then read a one-unit classifier at 0, not 0.5."""

    def probabilities(self, y_pred: np.ndarray) -> np.ndarray | None:
        """Class probabilities for the outputs (``nnframe predict``, ``predict_proba``);
        None when the outputs are not class scores."""

    def check_targets(self, y_true: np.ndarray, output_shape: Shape) -> None:
        """Raise `nnframe.DataError`, saying what to change, when targets cannot be
        compared with outputs of ``output_shape``; run before training and evaluation."""


@attrs.define(eq=False)
class Loss:
    """Optional base class for losses: no target check, outputs that are not class scores,
    config from the attrs fields."""

    takes_logits: ClassVar[bool] = False
    """Whether `forward` takes raw scores (logits) and applies its own activation;
    override it as a class attribute (``takes_logits: ClassVar[bool] = True``)."""

    def forward(self, y_true: np.ndarray, y_pred: np.ndarray,
                sample_weight: np.ndarray | None = None) -> float:
        """The mean loss over the batch; weighted by ``sample_weight`` (N,) when given (see
        `accepts_sample_weight` for the formula). A subclass that leaves the argument out
        of its own ``forward`` is never given weights."""
        raise NotImplementedError(f"{type(self).__name__} must implement forward()")

    def backward(self) -> np.ndarray:
        """dE/dy_pred for the last `forward` call."""
        raise NotImplementedError(f"{type(self).__name__} must implement backward()")

    def check_targets(self, y_true: np.ndarray, output_shape: Shape) -> None:
        """Raise `nnframe.DataError`, saying what to change, when targets cannot be
        compared with outputs of ``output_shape`` (one sample); accepts anything here."""

    def probabilities(self, y_pred: np.ndarray) -> np.ndarray | None:
        """Class probabilities for the network's outputs (``nnframe predict`` prints them,
        ``NetworkClassifier.predict_proba`` returns them), or None: not class scores."""
        return None

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, read from the attrs fields."""
        return config_of(self)
