"""Cross-entropy losses that take logits: softmax (multi-class) and sigmoid (binary).

Both fuse the activation with the log-loss, shifted for stability, so that logits of
any size give finite losses and the gradient is simply ``(probabilities - targets) / N``.
cross_entropy's options (class weights, label smoothing, logits with positions, a
reduction other than the mean, per-sample weights) take a general path, `_Softmaxed`; the
default keeps its short one.
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs
import numpy as np

from nnframe.checks.arguments import fraction, to_float, to_int
from nnframe.core.contracts import Loss, Shape
from nnframe.core.contracts.config import config_of
from nnframe.errors import ConfigError, DataError
from nnframe.losses.elementwise import ElementwiseLoss
from nnframe.losses.reduction import reduce, reduction_field, sample_weights
from nnframe.losses.targets import as_prediction_dtype, check_same_shape


def _optional_label(instance: Any, attribute: Any, value: Any) -> None:
    """None, or an integer (not a bool)."""
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise ConfigError(f"CrossEntropy: ignore_index must be an integer or None, got "
                          f"{value!r}")


def _class_weights(value: Any) -> tuple[float, ...] | None:
    """Class weights as a tuple of Python floats, each finite and >= 0; None stays None."""
    if value is None:
        return None
    try:
        weights = tuple(float(w) for w in np.asarray(value, dtype=np.float64).reshape(-1))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"CrossEntropy: weight must be one number per class, got "
                          f"{value!r}") from exc
    if np.ndim(value) != 1 or not weights:
        raise ConfigError(f"CrossEntropy: weight must be a list of one number per class, got "
                          f"{value!r}")
    if not all(np.isfinite(w) and w >= 0 for w in weights):
        raise ConfigError(f"CrossEntropy: class weights must be finite and >= 0, got {value!r}")
    return weights


@attrs.define(eq=False, on_setattr=attrs.setters.NO_OP)
class CrossEntropy(Loss):
    """Softmax cross-entropy from logits over the last axis (torch.nn.CrossEntropyLoss, with
    the classes on the last axis: logits (N, ..., C), as for channels-last images).

    Targets are integer classes (N, ...) or class probabilities (N, ..., C), one-hot or
    soft. ``weight`` (C numbers) weighs each class's loss; with class labels the mean then
    divides by the sum of the weights of the targets' classes, as PyTorch does.
    ``label_smoothing`` in [0, 1] mixes the targets with the uniform distribution:
    (1 - s) * target + s / C. ``ignore_index`` (None, or an integer such as PyTorch's
    default -100) marks a label that counts for nothing: no loss, no gradient, and not in
    the mean's denominator (class probabilities have no labels to ignore). ``reduction``
    "mean" (over every sample and position), "sum", or "none" (the loss of each sample and
    position, shape (N, ...)).
    """

    takes_logits: ClassVar[bool] = True
    #: `nnframe check` draws integer class labels as targets.
    check_hints: ClassVar[dict] = {"targets": "classes"}

    weight: tuple[float, ...] | None = attrs.field(default=None, converter=_class_weights)
    """One weight per class (PyTorch's ``weight``), or None: all 1."""
    label_smoothing: float = attrs.field(default=0.0, converter=to_float, validator=fraction)
    """The share of the uniform distribution mixed into the targets (PyTorch's)."""
    reduction: str = reduction_field()
    """``"mean"``, ``"sum"`` or ``"none"``, as PyTorch's."""
    ignore_index: int | None = attrs.field(default=None, kw_only=True, converter=to_int,
                                           validator=_optional_label)
    """A label that is ignored (PyTorch's ``ignore_index``; None here, since nnframe
    refuses labels out of range unless told)."""

    _probabilities: np.ndarray | None = attrs.field(init=False, default=None, repr=False)
    _labels: np.ndarray | None = attrs.field(init=False, default=None, repr=False)
    _targets: np.ndarray | None = attrs.field(init=False, default=None, repr=False)
    _general: _Softmaxed | None = attrs.field(init=False, default=None, repr=False)

    def forward(self, y_true: np.ndarray, y_pred: np.ndarray,
                sample_weight: np.ndarray | None = None) -> Any:
        """The reduced loss. With ``sample_weight`` (N,) each sample's loss counts as much
        as its weight; the mean divides by the sum of the weights (times the class weight
        of each target's class, with class labels and ``weight``)."""
        y_true = np.asarray(y_true)
        if (sample_weight is None and y_pred.ndim == 2 and self.weight is None
                and not self.label_smoothing and self.reduction == "mean"
                and self.ignore_index is None):
            self._general = None
            return self._mean(y_true, y_pred)
        self._general = _Softmaxed.of(self, y_true, y_pred)
        general = self._general
        weights = sample_weights("cross_entropy", sample_weight, len(y_pred), y_pred.dtype,
                                 y_pred.ndim - 1)
        total = None
        if general.label_weights is not None:  # the weights of the targets' classes
            denominators = general.label_weights.reshape(y_pred.shape[:-1])
            if weights is not None:
                denominators = denominators * weights
            total = float(np.sum(denominators, dtype=np.float64))
        reduced = reduce(general.values.reshape(y_pred.shape[:-1]), self.reduction, weights,
                         total)
        general.scale = reduced.scale
        return reduced.value

    def _mean(self, y_true: np.ndarray, y_pred: np.ndarray) -> float:
        """The default: logits (N, C), an unweighted mean, no smoothing."""
        n, classes = y_pred.shape
        shifted = y_pred - y_pred.max(axis=-1, keepdims=True)
        exp = np.exp(shifted)
        sums = exp.sum(axis=-1, keepdims=True)
        exp /= sums
        self._probabilities = exp
        log_sums = np.log(sums)
        if y_true.ndim == 1:
            labels = self._labels_from(y_true, classes)
            rows = np.arange(n)
            picked = shifted[rows, labels] - log_sums[:, 0]
            self._labels, self._targets = labels, None
            return -float(np.sum(picked, dtype=np.float64)) / n
        if y_true.shape != y_pred.shape:
            raise DataError(f"cross_entropy: one-hot targets have width {y_true.shape[-1]} "
                            f"but the logits have width {classes}; they must match")
        targets = as_prediction_dtype(y_true, y_pred)
        self._labels, self._targets = None, targets
        log_probabilities = shifted - log_sums
        return -float(np.vdot(targets, log_probabilities)) / n

    def backward(self) -> np.ndarray:
        if self._general is not None:
            return self._general.gradient()
        if self._probabilities is None:
            raise RuntimeError("CrossEntropy.backward called before forward")
        grad = self._probabilities.copy()
        n = len(grad)
        if self._labels is not None:
            grad[np.arange(n), self._labels] -= 1.0
        else:
            grad -= self._targets
        grad *= 1.0 / n
        return grad

    def _labels_from(self, y_true: np.ndarray, classes: int) -> np.ndarray:
        if y_true.dtype.kind == "f":
            if not np.all(y_true == np.round(y_true)):
                raise DataError("cross_entropy: targets without a class axis must be integer "
                                "class indices; give one-hot rows for soft labels")
            y_true = y_true.astype(np.intp)
        if y_true.dtype.kind not in "iu":
            raise DataError(f"cross_entropy: labels of dtype {y_true.dtype} are not class "
                            "indices; give integers in [0, classes) or one-hot rows")
        if y_true.size and (y_true.min() < 0 or y_true.max() >= classes):
            outside = (y_true < 0) | (y_true >= classes)
            if self.ignore_index is not None:
                outside &= y_true != self.ignore_index
            if outside.any():
                bad = y_true[outside][0]
                raise DataError(f"cross_entropy: label {int(bad)} is out of range for "
                                f"{classes} classes; labels must lie in [0, {classes})")
        return y_true

    def check_targets(self, y_true: np.ndarray, output_shape: Shape) -> None:
        """Logits (..., classes) per sample with classes >= 2; targets integer labels in
        range of shape (...), or class probabilities (one-hot or soft) of the logits'
        shape."""
        if len(output_shape) == 0:
            raise DataError("cross_entropy expects logits of shape (classes,) per sample, "
                            "the network outputs one number; add a dense layer")
        classes = output_shape[-1]
        if classes < 2:
            raise DataError("cross_entropy needs one output per class (at least 2), the "
                            "network has 1; for two classes with one output unit use "
                            "binary_cross_entropy, or give the last dense layer 2 outputs")
        if self.weight is not None and len(self.weight) != classes:
            raise DataError(f"cross_entropy: weight has {len(self.weight)} class weights, the "
                            f"network outputs {classes} classes; give one weight per class")
        positions = tuple(output_shape[:-1])
        if tuple(y_true.shape[1:]) == positions:
            self._labels_from(y_true, classes)
        elif tuple(y_true.shape[1:]) != tuple(output_shape):
            labels = "integer labels (" + ", ".join(["N", *map(str, positions)]) + (
                ")" if positions else ",)")
            raise DataError(f"cross_entropy: targets have shape {tuple(y_true.shape[1:])} per "
                            f"sample; give {labels} or one-hot rows of width {classes} (the "
                            f"network outputs {tuple(output_shape)} per sample)")
        elif not _are_distributions(y_true.reshape(-1, classes)):
            raise DataError("cross_entropy: targets of the logits' shape must be one-hot rows "
                            "or class probabilities (each row >= 0 and summing to 1); for "
                            "integer classes give an array of labels without the class axis, "
                            "for several independent 0/1 targets use binary_cross_entropy")

    def probabilities(self, y_pred: np.ndarray) -> np.ndarray:
        """Softmax of the logits over the last axis."""
        return softmax(y_pred)

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments; those added later only off their defaults, so that
        configs read as they did before."""
        return config_of(self, omit_defaults=("weight", "label_smoothing", "reduction",
                                              "ignore_index"))


@attrs.define(eq=False, on_setattr=attrs.setters.NO_OP)
class _Softmaxed:
    """Cross-entropy with every option, on the logits as rows (positions, C): the loss of
    each row and what its gradient needs. A row's loss is -sum_c q_c w_c log p_c with q the
    smoothed target and w the class weights; its gradient is a * p - q * w with a =
    sum_c q_c w_c."""

    probabilities: np.ndarray
    values: np.ndarray
    shape: tuple[int, ...]
    row_weights: Any  # a: a number, or one per row
    targets: np.ndarray | None  # q * w as rows, for probability targets
    labels: np.ndarray | None  # the class of each row, for labels
    label_share: Any  # (1 - s) * w[label]: the target's share of q * w, for labels
    uniform: Any  # (s / C) * w: the uniform share of q * w, for labels
    label_weights: np.ndarray | None  # w[label] per row (0 where ignored), for labels
    kept: np.ndarray | None = None  # 1 per row, 0 where the label is ignored
    scale: Any = None

    @classmethod
    def of(cls, loss: CrossEntropy, y_true: np.ndarray, y_pred: np.ndarray) -> _Softmaxed:
        if y_pred.ndim < 2:
            raise DataError(f"cross_entropy expects logits of shape (N, ..., classes), got "
                            f"{y_pred.shape}; add a dense layer before the loss")
        classes = y_pred.shape[-1]
        rows = y_pred.reshape(-1, classes)
        shifted = rows - rows.max(axis=-1, keepdims=True)
        probabilities = np.exp(shifted)
        sums = probabilities.sum(axis=-1, keepdims=True)
        probabilities /= sums
        log_p = shifted
        log_p -= np.log(sums)
        smoothing = loss.label_smoothing
        weight = None
        if loss.weight is not None:
            if len(loss.weight) != classes:
                raise DataError(f"cross_entropy: weight has {len(loss.weight)} class "
                                f"weights, the logits have {classes} classes; give one "
                                "weight per class")
            weight = np.asarray(loss.weight, dtype=y_pred.dtype)
        if y_true.shape == y_pred.shape[:-1]:
            labels = loss._labels_from(y_true.reshape(-1), classes)
            kept = None
            if loss.ignore_index is not None:
                ignored = labels == loss.ignore_index
                kept = (~ignored).astype(y_pred.dtype)
                labels = np.where(ignored, 0, labels)  # any class: the row counts for 0
            picked = log_p[np.arange(len(rows)), labels]
            label_weights = None if weight is None else weight[labels]
            values = -picked if weight is None else -(label_weights * picked)
            share = 1.0 - smoothing if weight is None else (1.0 - smoothing) * label_weights
            uniform: Any = 0.0
            if smoothing:
                values *= 1.0 - smoothing
                spread = log_p.sum(axis=-1) if weight is None else log_p @ weight
                values -= (smoothing / classes) * spread
                uniform = smoothing / classes if weight is None else (smoothing / classes) * weight
            row_weights: Any = share + (smoothing if weight is None
                                        else (smoothing / classes) * float(weight.sum()))
            if kept is not None:
                values *= kept
                label_weights = kept if label_weights is None else label_weights * kept
            return cls(probabilities, values, y_pred.shape, row_weights, None, labels,
                       share, uniform, label_weights, kept)
        if y_true.shape != y_pred.shape:
            raise DataError(f"cross_entropy: targets have shape {y_true.shape} for logits of "
                            f"shape {y_pred.shape}; give integer labels of shape "
                            f"{y_pred.shape[:-1]} or class probabilities of the logits' shape")
        targets = as_prediction_dtype(y_true, y_pred).reshape(rows.shape)
        if smoothing:
            targets = targets * (1.0 - smoothing) + smoothing / classes
        if weight is not None:
            targets = targets * weight
        values = -np.einsum("ij,ij->i", targets, log_p)
        return cls(probabilities, values, y_pred.shape, targets.sum(axis=-1, keepdims=True),
                   targets, None, 0.0, 0.0, None)

    def gradient(self) -> np.ndarray:
        """dE/dlogits in the logits' shape, reduced as forward reduced."""
        row_weights = self.row_weights
        if isinstance(row_weights, np.ndarray) and row_weights.ndim == 1:
            row_weights = row_weights[:, None]
        grad = self.probabilities * row_weights
        if self.labels is not None:
            grad[np.arange(len(grad)), self.labels] -= self.label_share
            grad -= self.uniform
        else:
            grad -= self.targets
        if self.kept is not None:
            grad *= self.kept[:, None]
        grad = grad.reshape(self.shape)
        scale = self.scale
        if isinstance(scale, np.ndarray):
            scale = scale[..., None]
        grad *= scale
        return grad


@attrs.define(eq=False, on_setattr=attrs.setters.NO_OP)
class BinaryCrossEntropy(ElementwiseLoss):
    """Sigmoid cross-entropy from logits, for 0/1 targets: mean over every output
    (torch.nn.BCEWithLogitsLoss; ``reduction`` "sum" or "none" as PyTorch's)."""

    #: The network's outputs are logits: a class is predicted where they are > 0.
    takes_logits: ClassVar[bool] = True
    loss_name: ClassVar[str] = "binary_cross_entropy"

    def prepare(self, targets: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(the loss of each output, sigmoid(y_pred) - targets)."""
        targets = targets.reshape(y_pred.shape)
        # log(1 + exp(z)) - y z, written as max(z, 0) - y z + log1p(exp(-|z|))
        values = np.maximum(y_pred, 0.0) - y_pred * targets
        values += np.log1p(np.exp(-np.abs(y_pred)))
        probabilities = 0.5 * (1.0 + np.tanh(0.5 * y_pred))
        return values, probabilities - targets

    def values(self, prepared: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        return prepared[0]

    def derivative(self, prepared: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        return prepared[1].copy()

    def probabilities(self, y_pred: np.ndarray) -> np.ndarray:
        """The sigmoid of each logit: the probability of class 1 per output."""
        return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(y_pred, dtype=np.float64)))

    def check_targets(self, y_true: np.ndarray, output_shape: Shape) -> None:
        if y_true.ndim == 1 and tuple(output_shape) == (1,):
            y_true = y_true.reshape(-1, 1)
        check_same_shape("binary_cross_entropy", y_true, output_shape)
        if y_true.size and (y_true.min() < 0 or y_true.max() > 1):
            raise DataError("binary_cross_entropy: targets must lie in [0, 1], got values in "
                            f"[{y_true.min()}, {y_true.max()}]")


def softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis in float64, shifted by the max for stability."""
    shifted = np.asarray(logits, dtype=np.float64)
    shifted = np.exp(shifted - shifted.max(axis=-1, keepdims=True))
    shifted /= shifted.sum(axis=-1, keepdims=True)
    return shifted


def _are_distributions(rows: np.ndarray) -> bool:
    """Whether every row is >= 0 and sums to 1 (one-hot rows are)."""
    if rows.size == 0:
        return True
    sums = rows.sum(axis=1, dtype=np.float64)
    return bool((rows >= 0).all() and np.allclose(sums, 1.0, atol=1e-3))
