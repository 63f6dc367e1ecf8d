"""Target checks shared by the losses that compare outputs element by element."""

from __future__ import annotations

import numpy as np

from nnframe.core.contracts import Shape
from nnframe.errors import DataError


def check_same_shape(loss_name: str, y_true: np.ndarray, output_shape: Shape) -> None:
    """Targets must have the network's output shape per sample."""
    if tuple(y_true.shape[1:]) == tuple(output_shape):
        return
    hint = ""
    if y_true.ndim == 1 and len(output_shape) == 1 and output_shape[0] > 1:
        hint = (f"; for class labels give one-hot targets of width {output_shape[0]} "
                "(nnframe.one_hot) or use the cross_entropy loss")
    elif y_true.ndim == 1 and tuple(output_shape) == (1,):
        hint = "; reshape the targets to (N, 1)"
    raise DataError(f"{loss_name}: targets have shape {tuple(y_true.shape[1:])} per sample but "
                    f"the network outputs {tuple(output_shape)}{hint}")


def as_prediction_dtype(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Targets in the prediction's dtype, so integer or float64 targets never promote."""
    return np.asarray(y_true, dtype=y_pred.dtype)
