"""Checks and conversions of user arrays, done once before training or inference starts."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnframe.core.registry import layer_label
from nnframe.errors import DataError, ShapeError


def as_array(data: Any, name: str, purpose: str | None = None) -> np.ndarray:
    """``data`` as a numeric ndarray with a batch axis, or a `DataError` saying what is wrong.

    ``purpose`` (``"training"``, ``"predicting"``) completes the advice for NaN values:
    clean them before that.
    """
    try:
        array = np.asarray(data)
    except (ValueError, TypeError) as exc:
        raise DataError(f"{name} cannot be read as one array ({exc}); give a numpy array "
                        "of numbers with the batch on the first axis") from None
    if array.dtype.kind not in "biuf":
        raise DataError(f"{name} has dtype {array.dtype}, not numbers; convert it, for "
                        f"example with np.asarray({name}, dtype='float32')")
    if array.ndim == 0:
        raise DataError(f"{name} is a scalar; give a batch with shape (N, ...)")
    if len(array) == 0:
        raise DataError(f"{name} is empty; give at least one sample")
    if array.dtype.kind == "f" and not _surely_finite(array):
        finite = np.isfinite(array)
        if not finite.all():
            bad = np.argwhere(~finite)
            raise DataError(
                f"{name} contains {len(bad)} NaN or infinite values (first at index "
                f"{tuple(int(i) for i in bad[0])}); clean or impute them "
                f"{f'before {purpose}' if purpose else 'first'}"
            )
    return array


def _surely_finite(array: np.ndarray) -> bool:
    """A fast yes for the usual case: a NaN or infinity makes the sum of squares NaN or
    infinite (one BLAS pass, no temporary array). Overflow gives a no; the caller then
    checks element by element."""
    if array.dtype not in (np.float32, np.float64) or not array.flags.c_contiguous:
        return False
    return bool(np.isfinite(np.vdot(array, array)))


def as_inputs(x: Any, dtype: np.dtype, name: str = "x", purpose: str | None = None
              ) -> np.ndarray:
    """Inputs converted once to the network's dtype, contiguous for fast batch gathers;
    values too large for that dtype (``1e300`` in float32) are a `DataError`, not
    infinities blamed later on the learning rate."""
    array = as_array(x, name, purpose)
    return _cast(array, dtype, name)


def _cast(array: np.ndarray, dtype: np.dtype, name: str) -> np.ndarray:
    """``array`` in ``dtype``; `DataError` when finite values overflow it."""
    with np.errstate(over="ignore"):
        cast = np.ascontiguousarray(array, dtype=dtype)
    narrower = (array.dtype.kind == "f" and np.dtype(dtype).kind == "f"
                and array.dtype.itemsize > np.dtype(dtype).itemsize)
    if narrower and not _surely_finite(cast) and not np.isfinite(cast).all():
        largest = float(np.abs(array).max())
        limit = float(np.finfo(dtype).max)
        raise DataError(f"{name} holds values up to {largest:.3g}, beyond the largest "
                        f"{np.dtype(dtype).name} ({limit:.3g}); scale the inputs, or use a "
                        "float64 network (nnframe.Network(..., dtype='float64'))")
    return cast


def as_targets(y: Any, dtype: np.dtype, name: str = "y", purpose: str | None = None
               ) -> np.ndarray:
    """Float targets in the network's dtype; integer class labels stay integers."""
    array = as_array(y, name, purpose)
    if array.dtype.kind == "f":
        return _cast(array, dtype, name)
    if array.dtype.kind == "b":
        return array.astype(dtype)
    return np.ascontiguousarray(array)


def check_same_length(x: np.ndarray, y: np.ndarray, names: tuple[str, str] = ("x", "y")) -> None:
    if len(x) != len(y):
        raise DataError(f"{names[0]} has {len(x)} samples but {names[1]} has {len(y)}; "
                        "give one target per input sample")


def is_streamed(x: Any) -> bool:
    """Whether ``x`` is rows read from a file as training goes (not an array in memory)."""
    return not isinstance(x, np.ndarray) and callable(getattr(x, "read", None))


def check_samples(network: Any, x: np.ndarray, name: str = "x") -> None:
    """`ShapeError` unless ``x`` has samples of the shape ``network`` was built for."""
    if tuple(x.shape[1:]) != network.input_shape:
        raise ShapeError(
            f"{layer_label(0, network.layers[0])}: the network was built for samples of "
            f"shape {network.input_shape}, but {name} has samples of shape "
            f"{tuple(x.shape[1:])}; reshape the data or build a new network"
        )


def check_targets(network: Any, y: np.ndarray, output_shape: tuple[int, ...],
                  name: str = "y") -> None:
    """Run the loss's target check (if it has one), naming the targets in its error."""
    check = getattr(network.loss, "check_targets", None)
    if check is not None:
        try:
            check(y, output_shape)
        except DataError as exc:
            raise DataError(f"{name}: {exc}") from None


def targets_for(network: Any, y: np.ndarray, output_shape: tuple[int, ...],
                name: str = "y") -> np.ndarray:
    """``y`` checked by the loss; one value per sample (N,) of a regression becomes
    (N, 1) for a network with one output, where the loss wants that shape."""
    if (y.ndim == 1 and y.dtype.kind == "f" and tuple(output_shape) == (1,)
            and getattr(network.loss, "check_targets", None) is not None):
        try:
            network.loss.check_targets(y, output_shape)
        except DataError:
            y = y.reshape(-1, 1)
    check_targets(network, y, output_shape, name)
    return y


def checked_pair(network: Any, x: Any, y: Any, doing: str, names: tuple[str, str] = ("x", "y")
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and targets for ``network``, converted and checked (``doing``: "training",
    "evaluating"): the same number of each, samples of the network's input shape, targets
    the loss accepts for the network's outputs."""
    x = as_inputs(x, network.dtype, names[0], doing)
    y = as_targets(y, network.dtype, names[1], doing)
    check_same_length(x, y, names)
    check_samples(network, x, names[0])
    return x, targets_for(network, y, network.output_shape, names[1])
