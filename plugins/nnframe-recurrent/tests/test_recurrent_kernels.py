"""The LSTM's named kernels: their NumPy references pass the kit, follow the LSTM's
formulas, and are what the layer runs with NNFRAME_KERNELS=reference."""

from __future__ import annotations

import numpy as np
import pytest

import nnframe
from nnframe.speed import kernels
from nnframe.testing import check_kernel

nnframe_recurrent = pytest.importorskip("nnframe_recurrent")
from nnframe_recurrent import kernels as lstm_kernels  # noqa: E402

NAMES = ("lstm_forward_gates", "lstm_backward_gates")


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


@pytest.mark.parametrize("name", NAMES)
def test_the_references_are_declared_and_pass_the_kit(name):
    report = check_kernel(f"nnframe-recurrent:{name}")
    assert report.passed and len(report.properties) >= 4  # imports, and one per case
    assert kernels.spec(name).reference == f"nnframe_recurrent.kernels:{name}"


def test_the_forward_step_follows_the_lstm_formulas():
    rng = np.random.default_rng(0)
    n, units = 3, 5
    pre = rng.standard_normal((n, 4 * units))  # i, f, g, o pre-activations
    cell_prev = rng.standard_normal((n, units))
    gate = pre * np.repeat([-1.0, -1.0, -2.0, -1.0], units)  # as the layer scales them
    cell, cell_tanh, state = (np.empty((n, units)) for _ in range(3))
    lstm_kernels.lstm_forward_gates(gate, cell_prev, cell, cell_tanh, state)
    i, f, g, o = np.split(pre, 4, axis=1)
    want_cell = sigmoid(f) * cell_prev + sigmoid(i) * np.tanh(g)
    np.testing.assert_allclose(cell, want_cell, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(state, sigmoid(o) * np.tanh(want_cell), rtol=1e-12,
                               atol=1e-12)
    np.testing.assert_allclose(gate[:, 2 * units:3 * units], np.tanh(g), atol=1e-12)


def test_the_backward_step_is_the_forward_steps_derivative():
    """dE/d(pre-activations) and dE/dc_{t-1} against central differences of the forward,
    for E = sum(w_h * h_t) + sum(w_c * c_t)."""
    rng = np.random.default_rng(1)
    n, units = 2, 3
    factors = np.repeat([-1.0, -1.0, -2.0, -1.0], units)
    pre = rng.standard_normal((n, 4 * units))
    cell_prev = rng.standard_normal((n, units))
    w_h, w_c = rng.standard_normal((2, n, units))

    def energy(pre, cell_prev):
        gate = pre * factors
        cell, cell_tanh, state = (np.empty((n, units)) for _ in range(3))
        lstm_kernels.lstm_forward_gates(gate, cell_prev, cell, cell_tanh, state)
        return float(np.sum(w_h * state) + np.sum(w_c * cell)), gate, cell_tanh

    _, gate, cell_tanh = energy(pre, cell_prev)
    grad_cell, grad_gate = w_c.copy(), np.empty((n, 4 * units))
    lstm_kernels.lstm_backward_gates(gate, cell_prev, cell_tanh, w_h.copy(), grad_cell,
                                     grad_gate)
    eps = 1e-6
    for array, grad in ((pre, grad_gate), (cell_prev, grad_cell)):
        numeric = np.empty_like(array)
        for index in np.ndindex(array.shape):
            saved = array[index]
            array[index] = saved + eps
            plus = energy(pre, cell_prev)[0]
            array[index] = saved - eps
            minus = energy(pre, cell_prev)[0]
            array[index] = saved
            numeric[index] = (plus - minus) / (2 * eps)
        # with respect to the pre-activations themselves, not their scaled copies
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


def test_reference_mode_runs_the_references_in_the_layer(monkeypatch):
    monkeypatch.setenv(kernels.KERNELS_ENV, "reference")
    calls = []
    for name in NAMES:
        original = getattr(lstm_kernels, name)
        monkeypatch.setattr(lstm_kernels, name, lambda *a, _f=original, _n=name, **k: (
            calls.append(_n), _f(*a, **k))[1])
    kernels.forget()
    layer = nnframe.layer("lstm", units=4)
    rng = np.random.default_rng(0)
    layer.build((3, 2), rng, np.dtype(np.float32))
    y = layer.forward(rng.standard_normal((2, 3, 2)).astype(np.float32), training=True)
    layer.backward(np.ones_like(y))
    assert calls == ["lstm_forward_gates"] * 3 + ["lstm_backward_gates"] * 3
