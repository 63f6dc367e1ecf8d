"""Reductions and per-sample weights, shared by the built-in losses, with PyTorch's meaning.

A loss computes one value per element (per output, or per position for cross-entropy) and
reduces them as its ``reduction`` says: ``"mean"`` (the default), ``"sum"`` or ``"none"``
(the values themselves, an array). Per-sample weights w (shape (N,)) multiply the values of
their sample; the weighted mean divides by the sum of the weights over every element, so
that it is sum_i(w_i * l_i) / sum_i(w_i) with l_i sample i's mean loss. `reduce` also
returns the factor by which backward multiplies each element's derivative.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from nnframe.checks.arguments import one_of
from nnframe.errors import DataError

#: The values of every built-in loss's ``reduction`` argument, as in ``torch.nn``.
REDUCTIONS = ("mean", "sum", "none")

#: The validator of a ``reduction`` argument.
check_reduction = one_of(*REDUCTIONS)


def reduction_field() -> Any:
    """A keyword-only ``reduction`` attrs field, "mean" by default."""
    return attrs.field(default="mean", kw_only=True, validator=check_reduction)


def sample_weights(loss_name: str, sample_weight: Any, n: int, dtype: np.dtype,
                   ndim: int) -> np.ndarray | None:
    """Per-sample weights as an array of ``dtype`` shaped to broadcast over a batch of
    ``ndim`` axes, (N, 1, ...); None for None. Raises `DataError` for a wrong shape or
    weights that are negative or not finite."""
    if sample_weight is None:
        return None
    weights = np.asarray(sample_weight)
    if weights.dtype.kind not in "biuf":
        raise DataError(f"{loss_name}: sample_weight must be numbers, got dtype "
                        f"{weights.dtype}")
    if weights.shape != (n,):
        raise DataError(f"{loss_name}: sample_weight has shape {weights.shape}, the batch has "
                        f"{n} samples; give one weight per sample, shape ({n},)")
    if not (np.isfinite(weights).all() and (weights >= 0).all()):
        raise DataError(f"{loss_name}: sample_weight must be finite and >= 0")
    return weights.astype(dtype, copy=False).reshape((n,) + (1,) * (ndim - 1))


@attrs.frozen
class Reduced:
    """A reduced loss: ``value`` (a float, or the weighted values for "none") and ``scale``,
    d value / d values, by which backward multiplies each element's derivative."""

    value: float | np.ndarray
    scale: float | np.ndarray


def reduce(values: np.ndarray, reduction: str, weights: np.ndarray | None = None,
           total: float | None = None) -> Reduced:
    """Reduce per-element ``values`` (batch axis first).

    ``weights`` broadcast over ``values`` and multiply them (None: all ones). ``total`` is
    the mean's denominator; by default the sum of the weights over every element (the
    number of elements without weights). A mean over weights that sum to 0 is 0, with a
    zero gradient (a batch whose samples all weigh nothing teaches nothing).
    """
    weighted = values if weights is None else values * weights
    scale: float | np.ndarray = 1.0 if weights is None else weights
    if reduction == "none":
        return Reduced(weighted, scale)
    value = float(np.sum(weighted, dtype=np.float64))
    if reduction == "sum":
        return Reduced(value, scale)
    if total is None:
        total = float(values.size if weights is None
                      else np.sum(np.broadcast_to(weights, values.shape), dtype=np.float64))
    if total == 0.0:
        return Reduced(0.0, 0.0 * scale)
    return Reduced(value / total, scale * (1.0 / total))
