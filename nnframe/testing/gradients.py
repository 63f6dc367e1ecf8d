"""Central finite differences in float64, to check analytic gradients.

For a layer, the scalar checked is ``E = sum(forward(x, training=True) * G)`` for a fixed
random ``G``: its gradient with respect to the output is ``G``, so ``backward(G)`` must equal
dE/dx and fill ``grads`` with dE/dparam. Training mode is what ``backward`` differentiates;
a stochastic layer (dropout) is made repeatable by ``before_forward``, which the caller uses
to rewind the layer's random generator before every forward pass.

How close is close enough (`gradient_mismatch`): a central difference
``(E(x + h) - E(x - h)) / 2h`` carries two errors. Truncation, ``h**2 / 6`` times the third
derivative, is relative to the derivative's own size for smooth functions (about 1e-12 at
``h = 1e-6``). Rounding is absolute: each ``E`` is a float64 sum whose rounding error grows
with the size of the terms summed, not with ``E`` itself (terms may cancel), so the
difference carries about ``machine epsilon * S / h``, with ``S`` the sum of the terms'
magnitudes. One element therefore passes when

    |analytic - numeric| <= rtol * max(|analytic|, |numeric|) + atol,
    atol = ROUNDING_GROWTH * machine epsilon * S / h.

A real bug (a sign flip, a missing term, a transposed weight) is wrong by a sizeable
fraction of the gradient, many orders above both parts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import numpy as np

#: The default finite-difference step: where float64 rounding (eps / h) and truncation
#: (h ** 2) together are smallest for values of order one.
STEP = 1e-6

#: The default relative part of the tolerance: far above truncation (~1e-12) and the
#: analytic gradient's own rounding (~1e-15), far below any real bug.
RTOL = 1e-6

#: How many times machine epsilon times ``S`` the rounding in one evaluation of ``E`` may
#: reach: measured rounding is about 1x (recurrent stacks, normalisation, composites);
#: 100x leaves room for deeper computations whose intermediates exceed their results.
ROUNDING_GROWTH = 100.0


def numerical_gradient(f: Callable[[], float], array: np.ndarray,
                       eps: float = STEP) -> np.ndarray:
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


def rounding_tolerance(scale: float, step: float = STEP) -> float:
    """The absolute error a central difference of step ``step`` may carry from float64
    rounding alone, when the function is a sum of terms of total magnitude ``scale``."""
    scale = float(scale) if np.isfinite(scale) else 0.0
    return ROUNDING_GROWTH * float(np.finfo(np.float64).eps) * max(scale, 1e-300) / step


@attrs.frozen
class GradientMismatch:
    """How far an analytic gradient is from its finite differences.

    ``ratio`` is the worst element's error divided by its tolerance (at most 1 passes);
    ``index`` is where it occurs; ``error`` its absolute error, ``rtol`` and ``atol`` the
    tolerance's two parts.
    """

    ratio: float
    index: tuple[int, ...]
    error: float
    rtol: float
    atol: float

    @property
    def passed(self) -> bool:
        return bool(self.ratio <= 1.0)

    def describe(self, label: str, analytic: np.ndarray, numeric: np.ndarray) -> str:
        """``dE/dX[2, 1]: backward 0.51, finite differences 0.5099, error 3e-05
        (tolerance rtol 1e-06 + atol 2.0e-09)``."""
        analytic, numeric = np.asarray(analytic), np.asarray(numeric)
        where = f"[{', '.join(map(str, self.index))}]" if self.index else ""
        values = ""
        if analytic.shape == numeric.shape and analytic.size:
            values = (f"backward {float(analytic[self.index]):.6g}, finite "
                      f"differences {float(numeric[self.index]):.6g}, ")
        return (f"{label}{where}: {values}error {self.error:.2g} (tolerance rtol "
                f"{self.rtol:.0e} + atol {self.atol:.1e})")


def gradient_mismatch(analytic: np.ndarray, numeric: np.ndarray, *, scale: float,
                      step: float = STEP, rtol: float = RTOL) -> GradientMismatch:
    """Compare ``analytic`` with central differences ``numeric`` element by element.

    ``scale`` is the total magnitude of the terms summed into the differentiated value
    (``sum(|forward(x) * G|)`` for a layer: `energy_scale`; `loss_scale` for a loss),
    ``step`` the finite-difference step: together they set the absolute part of the
    tolerance (see the module docstring). Arrays of different shapes, or a NaN, give an
    infinite ratio.
    """
    analytic = np.asarray(analytic, dtype=np.float64)
    numeric = np.asarray(numeric, dtype=np.float64)
    atol = rounding_tolerance(scale, step)
    if analytic.shape != numeric.shape:
        return GradientMismatch(float("inf"), (), float("inf"), rtol, atol)
    if analytic.size == 0:
        return GradientMismatch(0.0, (), 0.0, rtol, atol)
    error = np.abs(analytic - numeric)
    allowed = rtol * np.maximum(np.abs(analytic), np.abs(numeric)) + atol
    ratios = (error / allowed).reshape(-1)
    nans = np.flatnonzero(np.isnan(ratios))
    flat = int(nans[0]) if nans.size else int(np.argmax(ratios))
    index = tuple(int(i) for i in np.unravel_index(flat, analytic.shape))
    ratio = float("inf") if nans.size else float(ratios[flat])
    return GradientMismatch(ratio, index, float(error.reshape(-1)[flat]), rtol, atol)


def energy_scale(output: np.ndarray, upstream: np.ndarray) -> float:
    """``sum(|output * upstream|)``: the magnitude of the terms of a layer's checked
    energy ``E = sum(output * upstream)``."""
    return float(np.sum(np.abs(np.asarray(output, np.float64) * upstream)))


def loss_scale(value: float | np.ndarray, y_pred: np.ndarray) -> float:
    """The magnitude behind a loss's value: the value itself (the sum of its magnitudes,
    for a loss that returns one per sample) plus the mean size of the predictions it was
    computed from (a log-sum-exp works at the size of the logits)."""
    size = float(np.sum(np.abs(value)))
    return size + (float(np.mean(np.abs(y_pred))) if np.size(y_pred) else 0.0)


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
    eps: float = STEP,
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
                          eps: float = STEP) -> dict[str, float]:
    """Relative errors of ``backward`` against finite differences, for the input and each
    parameter of an already-built float64 layer: ``{"input": e, "weights": e, ...}``.

    A summary figure (as `relative_error`); to pass or fail a layer, use
    `assert_layer_gradients`, whose tolerance accounts for rounding in the differences."""
    x = np.array(x, dtype=np.float64)
    upstream = rng.standard_normal(layer.forward(x, training=True).shape)
    return {
        name: relative_error(analytic, numeric)
        for name, (analytic, numeric) in layer_gradients(layer, x, upstream, eps).items()
    }


def loss_gradient_error(loss, y_true: np.ndarray, y_pred: np.ndarray, eps: float = STEP,
                        **forward_kwargs: Any) -> float:
    """Relative error of ``loss.backward()`` against finite differences of ``forward``: a
    summary figure; `assert_loss_gradient` passes or fails a loss."""
    return relative_error(*loss_gradients(loss, y_true, y_pred, eps, **forward_kwargs))


def loss_gradients(loss, y_true: np.ndarray, y_pred: np.ndarray, eps: float = STEP,
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


def assert_gradient_matches(name: str, analytic: np.ndarray, numeric: np.ndarray, *,
                            scale: float, step: float = STEP,
                            rtol: float = RTOL) -> GradientMismatch:
    """Raise `AssertionError` naming ``name`` and the worst element when ``analytic``
    is not within the tolerance of `gradient_mismatch`; return the mismatch otherwise."""
    mismatch = gradient_mismatch(analytic, numeric, scale=scale, step=step, rtol=rtol)
    if not mismatch.passed:
        if np.shape(analytic) != np.shape(numeric):
            raise AssertionError(f"{name}: backward gives shape {np.shape(analytic)}, "
                                 f"finite differences {np.shape(numeric)}")
        raise AssertionError(mismatch.describe(name, analytic, numeric))
    return mismatch


def assert_layer_gradients(layer, x: np.ndarray, upstream: np.ndarray | np.random.Generator,
                           *, step: float = STEP, rtol: float = RTOL,
                           before_forward: Callable[[], None] | None = None,
                           indices: bool = False) -> dict[str, float]:
    """Check a built float64 layer's ``backward`` against central differences of
    ``E = sum(forward(x) * upstream)`` for the input and every parameter; raise
    `AssertionError` naming the array and element that disagree, else return each array's
    ratio of error to tolerance (at most 1). ``upstream`` may be a Generator to draw it."""
    x = np.array(x, dtype=np.float64)
    rewind = before_forward or (lambda: None)
    rewind()
    output = layer.forward(x, training=True)
    if isinstance(upstream, np.random.Generator):
        upstream = upstream.standard_normal(output.shape)
    scale = energy_scale(output, upstream)
    pairs = layer_gradients(layer, x, upstream, step, before_forward, indices=indices)
    ratios = {}
    for name, (analytic, numeric) in pairs.items():
        if analytic is None:
            raise AssertionError(f"backward left no grads[{name!r}] for params[{name!r}]")
        label = "dE/dX" if name == "input" else f"grads[{name}]"
        ratios[name] = assert_gradient_matches(label, analytic, numeric, scale=scale,
                                               step=step, rtol=rtol).ratio
    return ratios


def assert_loss_gradient(loss, y_true: np.ndarray, y_pred: np.ndarray, *,
                         step: float = STEP, rtol: float = RTOL,
                         **forward_kwargs: Any) -> float:
    """Check ``loss.backward()`` against central differences of ``forward`` in float64
    (``forward_kwargs``, such as ``sample_weight``, go to every ``forward``); raise
    `AssertionError` naming the element that disagrees, else return the ratio of error to
    tolerance (at most 1)."""
    y_pred = np.array(y_pred, dtype=np.float64)
    value = loss.forward(y_true, y_pred, **forward_kwargs)
    analytic, numeric = loss_gradients(loss, y_true, y_pred, step, **forward_kwargs)
    return assert_gradient_matches("dE/dy_pred", analytic, numeric,
                                   scale=loss_scale(value, y_pred), step=step,
                                   rtol=rtol).ratio
