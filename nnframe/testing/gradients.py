"""Central finite differences in float64, to check analytic gradients.

For a layer, the scalar checked is ``E = sum(forward(x, training=True) * G)`` for a fixed
random ``G``: its gradient with respect to the output is ``G``, so ``backward(G)`` must equal
dE/dx and fill ``grads`` with dE/dparam. Training mode is what ``backward`` differentiates;
a stochastic layer (dropout) is made repeatable by ``before_forward``, which the caller uses
to rewind the layer's random generator before every forward pass.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


def numerical_gradient(f: Callable[[], float], array: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """dE/d(array) by central differences, perturbing ``array`` in place (and restoring it)."""
    grad = np.zeros(array.shape, dtype=np.float64)
    flat = array.reshape(-1)
    out = grad.reshape(-1)
    for i in range(flat.size):
        saved = flat[i]
        flat[i] = saved + eps
        plus = f()
        flat[i] = saved - eps
        minus = f()
        flat[i] = saved
        out[i] = (plus - minus) / (2 * eps)
    return grad


#: Elements smaller than this fraction of the array's largest are compared against that
#: floor rather than their own size: where a gradient cancels to almost zero, float64
#: rounding in the finite difference would otherwise look like a large relative error.
SCALE_FLOOR = 1e-3


def _elementwise_errors(analytic: np.ndarray, numeric: np.ndarray) -> np.ndarray:
    scale = max(float(np.max(np.abs(analytic))), float(np.max(np.abs(numeric))))
    floor = max(SCALE_FLOOR * scale, 1e-8) if np.isfinite(scale) else 1e-8
    denominator = np.maximum(np.abs(analytic) + np.abs(numeric), floor)
    return np.abs(analytic - numeric) / denominator


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """Max of |a - n| / max(|a| + |n|, 1e-3 * largest |a| or |n|, 1e-8): scale-free, 0 for
    identical arrays, and not fooled by elements that cancel to almost zero."""
    return worst_element(analytic, numeric)[0]


def worst_element(analytic: np.ndarray, numeric: np.ndarray) -> tuple[float, tuple[int, ...]]:
    """The largest relative error (as in `relative_error`) and the index where it occurs.

    Arrays of different shapes give ``(inf, ())``; empty arrays ``(0.0, ())``.
    """
    analytic = np.asarray(analytic, dtype=np.float64)
    numeric = np.asarray(numeric, dtype=np.float64)
    if analytic.shape != numeric.shape:
        return float("inf"), ()
    if analytic.size == 0:
        return 0.0, ()
    errors = _elementwise_errors(analytic, numeric).reshape(-1)
    nans = np.flatnonzero(np.isnan(errors))
    flat = int(nans[0]) if nans.size else int(np.argmax(errors))
    index = tuple(int(i) for i in np.unravel_index(flat, analytic.shape))
    return float(errors[flat]), index


def layer_gradients(
    layer,
    x: np.ndarray,
    upstream: np.ndarray,
    eps: float = 1e-6,
    before_forward: Callable[[], None] | None = None,
    *,
    indices: bool = False,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{"input": (analytic, numeric), <param>: (analytic, numeric), ...}`` for a built
    float64 layer, with ``upstream`` as dE/dY.

    With ``indices``, ``x`` holds indices (an embedding's), which a layer takes only as
    whole numbers: the input is not perturbed, and its numeric gradient is zeros (a
    change too small to reach the next index changes nothing).
    """
    rewind = before_forward or (lambda: None)
    x = np.array(x, dtype=np.float64)

    def energy() -> float:
        rewind()
        return float(np.sum(layer.forward(x, training=True) * upstream))

    rewind()
    layer.forward(x, training=True)
    grad_input = layer.backward(upstream.copy())
    analytic = {name: np.array(g, copy=True) for name, g in layer.grads.items()}
    numeric_input = np.zeros(x.shape) if indices else numerical_gradient(energy, x, eps)
    result = {"input": (np.asarray(grad_input), numeric_input)}
    for name, value in layer.params.items():
        result[name] = (analytic.get(name), numerical_gradient(energy, value, eps))
    return result


def layer_gradient_errors(layer, x: np.ndarray, rng: np.random.Generator,
                          eps: float = 1e-6) -> dict[str, float]:
    """Relative errors of ``backward`` against finite differences, for the input and each
    parameter of an already-built float64 layer: ``{"input": e, "weights": e, ...}``."""
    x = np.array(x, dtype=np.float64)
    upstream = rng.standard_normal(layer.forward(x, training=True).shape)
    return {
        name: relative_error(analytic, numeric)
        for name, (analytic, numeric) in layer_gradients(layer, x, upstream, eps).items()
    }


def loss_gradient_error(loss, y_true: np.ndarray, y_pred: np.ndarray, eps: float = 1e-6,
                        **forward_kwargs: Any) -> float:
    """Relative error of ``loss.backward()`` against finite differences of ``forward``."""
    return relative_error(*loss_gradients(loss, y_true, y_pred, eps, **forward_kwargs))


def loss_gradients(loss, y_true: np.ndarray, y_pred: np.ndarray, eps: float = 1e-6,
                   **forward_kwargs: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(analytic, numeric)`` dE/dy_pred of a loss, in float64; ``forward_kwargs`` (such
    as ``sample_weight``) go to every ``forward``. A loss that returns an array (reduction
    "none") is differentiated as the sum of its values, as backward gives it."""
    y_pred = np.array(y_pred, dtype=np.float64)
    loss.forward(y_true, y_pred, **forward_kwargs)
    analytic = np.array(loss.backward(), copy=True)
    numeric = numerical_gradient(
        lambda: float(np.sum(loss.forward(y_true, y_pred, **forward_kwargs))), y_pred, eps)
    return analytic, numeric
