"""Central finite differences in float64, to check analytic gradients.

For a layer, the scalar checked is ``E = sum(forward(x) * G)`` for a fixed random ``G``:
its gradient with respect to the output is ``G``, so ``backward(G)`` must equal dE/dx and
fill ``grads`` with dE/dparam.
"""

from __future__ import annotations

from collections.abc import Callable

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


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """Max of |a - n| / max(1e-8, |a| + |n|): scale-free, 0 for identical arrays."""
    analytic = np.asarray(analytic, dtype=np.float64)
    numeric = np.asarray(numeric, dtype=np.float64)
    if analytic.shape != numeric.shape:
        return float("inf")
    if analytic.size == 0:
        return 0.0
    denominator = np.maximum(np.abs(analytic) + np.abs(numeric), 1e-8)
    return float(np.max(np.abs(analytic - numeric) / denominator))


def layer_gradient_errors(layer, x: np.ndarray, rng: np.random.Generator,
                          eps: float = 1e-6) -> dict[str, float]:
    """Relative errors of ``backward`` against finite differences, for the input and each
    parameter of an already-built float64 layer: ``{"input": e, "weights": e, ...}``."""
    x = np.array(x, dtype=np.float64)
    y = layer.forward(x, training=True)
    upstream = rng.standard_normal(y.shape)

    def energy() -> float:
        return float(np.sum(layer.forward(x, training=False) * upstream))

    layer.forward(x, training=True)
    grad_input = layer.backward(upstream.copy())
    analytic = {name: np.array(g, copy=True) for name, g in layer.grads.items()}
    errors = {"input": relative_error(grad_input, numerical_gradient(energy, x, eps))}
    for name, value in layer.params.items():
        errors[name] = relative_error(analytic[name], numerical_gradient(energy, value, eps))
    return errors


def loss_gradient_error(loss, y_true: np.ndarray, y_pred: np.ndarray, eps: float = 1e-6) -> float:
    """Relative error of ``loss.backward()`` against finite differences of ``forward``."""
    y_pred = np.array(y_pred, dtype=np.float64)
    loss.forward(y_true, y_pred)
    analytic = np.array(loss.backward(), copy=True)
    numeric = numerical_gradient(lambda: loss.forward(y_true, y_pred), y_pred, eps)
    return relative_error(analytic, numeric)
