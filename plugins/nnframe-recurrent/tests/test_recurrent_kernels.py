"""The LSTM's and the GRU's named kernels: their NumPy references pass the kit, follow the
layers' formulas, give the GRU's results of before bit for bit, and are what the layers run
with NNFRAME_KERNELS=reference."""

from __future__ import annotations

import numpy as np
import pytest

import nnframe
from nnframe.speed import kernels
from nnframe.testing import check_kernel

nnframe_recurrent = pytest.importorskip("nnframe_recurrent")
from nnframe_recurrent import kernels as recurrent_kernels  # noqa: E402
from nnframe_recurrent.gru import GRU  # noqa: E402
from nnframe_recurrent.recurrent import Run, activate, exp_factors  # noqa: E402

NAMES = ("lstm_forward_gates", "lstm_backward_gates")
GRU_NAMES = ("gru_forward_gates", "gru_backward_gates")


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


@pytest.mark.parametrize("name", NAMES + GRU_NAMES)
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
    recurrent_kernels.lstm_forward_gates(gate, cell_prev, cell, cell_tanh, state)
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
        recurrent_kernels.lstm_forward_gates(gate, cell_prev, cell, cell_tanh, state)
        return float(np.sum(w_h * state) + np.sum(w_c * cell)), gate, cell_tanh

    _, gate, cell_tanh = energy(pre, cell_prev)
    grad_cell, grad_gate = w_c.copy(), np.empty((n, 4 * units))
    recurrent_kernels.lstm_backward_gates(gate, cell_prev, cell_tanh, w_h.copy(), grad_cell,
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
        original = getattr(recurrent_kernels, name)
        monkeypatch.setattr(recurrent_kernels, name, lambda *a, _f=original, _n=name, **k: (
            calls.append(_n), _f(*a, **k))[1])
    kernels.forget()
    layer = nnframe.layer("lstm", units=4)
    rng = np.random.default_rng(0)
    layer.build((3, 2), rng, np.dtype(np.float32))
    y = layer.forward(rng.standard_normal((2, 3, 2)).astype(np.float32), training=True)
    layer.backward(np.ones_like(y))
    assert calls == ["lstm_forward_gates"] * 3 + ["lstm_backward_gates"] * 3


# -- the GRU -----------------------------------------------------------------------------

#: the GRU's factors on its pre-activations: -1 for r and z (sigmoids), 1 for n
GRU_FACTORS = (-1.0, -1.0, 1.0)


def test_the_gru_forward_step_follows_the_gru_formulas():
    rng = np.random.default_rng(2)
    n, units = 3, 5
    pre_input, pre_carried = rng.standard_normal((2, n, 3 * units))  # r, z, n blocks
    state_prev = rng.standard_normal((n, units))
    factors = np.repeat(GRU_FACTORS, units)
    gate, carried = pre_input * factors, pre_carried * factors
    state = np.empty((n, units))
    recurrent_kernels.gru_forward_gates(gate, carried, state_prev, state)
    (xr, xz, xn), (hr, hz, hn) = np.split(pre_input, 3, axis=1), np.split(pre_carried, 3, axis=1)
    r, z = sigmoid(xr + hr), sigmoid(xz + hz)
    new = np.tanh(xn + r * hn)
    np.testing.assert_allclose(state, (1 - z) * new + z * state_prev, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gate, np.hstack([r, z, new]), rtol=1e-12, atol=1e-12)


def test_the_gru_backward_step_is_the_forward_steps_derivative():
    """dE/d(input and recurrent pre-activations) and dE/dh_{t-1} (the part through z)
    against central differences of the forward, for E = sum(w_h * h_t)."""
    rng = np.random.default_rng(3)
    n, units = 2, 3
    factors = np.repeat(GRU_FACTORS, units)
    pre_input, pre_carried = rng.standard_normal((2, n, 3 * units))
    state_prev = rng.standard_normal((n, units))
    w_h = rng.standard_normal((n, units))

    def energy(pre_input, pre_carried, state_prev):
        gate, carried = pre_input * factors, pre_carried * factors
        state = np.empty((n, units))
        recurrent_kernels.gru_forward_gates(gate, carried, state_prev, state)
        return float(np.sum(w_h * state)), gate, carried

    _, gate, carried = energy(pre_input, pre_carried, state_prev)
    grad_state = w_h.copy()
    grad_gate, grad_carried = np.empty((n, 3 * units)), np.empty((n, 3 * units))
    recurrent_kernels.gru_backward_gates(gate, carried, state_prev, grad_state, grad_gate,
                                    grad_carried)
    eps = 1e-6
    for array, grad in ((pre_input, grad_gate), (pre_carried, grad_carried),
                        (state_prev, grad_state)):
        numeric = np.empty_like(array)
        for index in np.ndindex(array.shape):
            saved = array[index]
            array[index] = saved + eps
            plus = energy(pre_input, pre_carried, state_prev)[0]
            array[index] = saved - eps
            minus = energy(pre_input, pre_carried, state_prev)[0]
            array[index] = saved
            numeric[index] = (plus - minus) / (2 * eps)
        # with respect to the pre-activations themselves, not their scaled copies
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


class PreviousGRU(GRU):
    """The GRU's time loops as they were before the gate arithmetic became kernels,
    verbatim: the oracle that the kernels' results must equal bit for bit."""

    def _forward_steps(self, steps, work):
        time, n, _ = steps.shape
        units, dtype = self.units, steps.dtype
        factors = exp_factors((True, True, False), units, dtype)
        factors[2 * units:] = 1.0
        scaled = {name: self._scaled(name, factors, work) for name in
                  ("input_weights", "input_bias", "recurrent_weights", "recurrent_bias")}
        gates = work.get("gates", (time, n, 3 * units), dtype)
        self._project(steps, scaled["input_weights"], scaled["input_bias"], gates)
        hidden = work.get("hidden", (time, n, 3 * units), dtype)
        states = self._states(work, time, n, dtype)
        product = work.get("product", (n, units), dtype)
        learned = self.learned
        with np.errstate(over="ignore"):
            for t in range(time):
                carried = hidden[t]
                if t or learned:
                    np.matmul(states[t], scaled["recurrent_weights"], out=carried)
                    carried += scaled["recurrent_bias"]
                else:
                    carried[...] = scaled["recurrent_bias"]
                gate = gates[t]
                rz = gate[:, :2 * units]
                rz += carried[:, :2 * units]
                activate(rz)
                r, z, new = (gate[:, k * units:(k + 1) * units] for k in range(3))
                np.multiply(r, carried[:, 2 * units:], out=product)
                new += product
                np.tanh(new, out=new)
                state = states[t + 1]
                np.subtract(states[t], new, out=state)
                state *= z
                state += new
        return Run(steps, states, {"gates": gates, "hidden": hidden})

    def _backward_steps(self, run, grad_states):
        gates, hidden, states = run.arrays["gates"], run.arrays["hidden"], run.states
        time, n, _ = gates.shape
        units, dtype, work = self.units, gates.dtype, self._workspace
        grad = work.get("grad_projection", (time, n, 3 * units), dtype)
        grad_hidden = work.get("grad_hidden", (time, n, 3 * units), dtype)
        grad_state = work.get("grad_state", (n, units), dtype)
        np.copyto(grad_state, self._grad_state_at(grad_states, time - 1, time))
        product = work.get("grad_product", (n, units), dtype)
        recurrent_transposed = self.params["recurrent_weights"].T
        for t in reversed(range(time)):
            r, z, new = (gates[t][:, k * units:(k + 1) * units] for k in range(3))
            gr, gz, gn = (grad[t][:, k * units:(k + 1) * units] for k in range(3))
            np.multiply(new, new, out=gn)
            np.subtract(1.0, gn, out=gn)
            np.subtract(1.0, z, out=product)
            gn *= product
            gn *= grad_state
            product *= z
            np.subtract(states[t], new, out=gz)
            gz *= product
            gz *= grad_state
            np.multiply(gn, hidden[t][:, 2 * units:], out=gr)
            np.subtract(1.0, r, out=product)
            product *= r
            gr *= product
            grad_hidden[t][:, :2 * units] = grad[t][:, :2 * units]
            np.multiply(gn, r, out=grad_hidden[t][:, 2 * units:])
            if t:
                np.multiply(grad_state, z, out=product)
                np.matmul(grad_hidden[t], recurrent_transposed, out=grad_state)
                grad_state += product
                own = self._grad_state_at(grad_states, t - 1, time)
                if own is not None:
                    grad_state += own
        first = 0 if self.learned else 1
        np.matmul(states[first:time].reshape(-1, units).T,
                  grad_hidden[first:].reshape(-1, 3 * units),
                  out=self.grads["recurrent_weights"])
        if self.learned:
            np.multiply(grad_state, gates[0][:, units:2 * units], out=product)
            self._initial_grad("initial_state", grad_hidden[0] @ recurrent_transposed + product)
        if self.use_bias:
            self._sum_rows(grad_hidden.reshape(-1, 3 * units), self.grads["recurrent_bias"])
        return grad


def gru_results(cls, options, shape, dtype):
    """Output, dE/dx and every gradient of two forward and backward passes of a GRU
    built from one seed (the second pass reuses the layer's work arrays)."""
    layer = cls(**options)
    layer.build(shape[1:], np.random.default_rng(1), np.dtype(dtype))
    rng = np.random.default_rng(7)
    found = []
    for _ in range(2):
        x = rng.standard_normal(shape).astype(dtype)
        y = layer.forward(x, training=True)
        dx = layer.backward(rng.standard_normal(y.shape).astype(dtype))
        found += [y.copy(), dx.copy(), *(g.copy() for g in layer.grads.values())]
    return found


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("options", "shape"), [
    ({"units": 128}, (128, 28, 28)),  # the benchmark's GRU
    ({"units": 1}, (1, 3, 2)),  # batch 1, one unit
    ({"units": 7, "return_sequences": True}, (3, 5, 4)),  # odd sizes
    ({"units": 5, "initial_state": "learned", "return_sequences": True}, (4, 6, 3)),
    ({"units": 4, "bidirectional": True, "use_bias": False}, (2, 4, 3)),
    ({"units": 6}, (5, 1, 2)),  # a single step
])
def test_the_gru_gives_its_previous_results_bit_for_bit(options, shape, dtype, monkeypatch):
    monkeypatch.setenv(kernels.KERNELS_ENV, "reference")
    kernels.forget()
    found = gru_results(GRU, options, shape, dtype)
    previous = gru_results(PreviousGRU, options, shape, dtype)
    assert len(found) == len(previous)
    for got, want in zip(found, previous, strict=True):
        assert got.dtype == want.dtype == dtype
        np.testing.assert_array_equal(got, want)


def test_reference_mode_runs_the_gru_references_in_the_layer(monkeypatch):
    monkeypatch.setenv(kernels.KERNELS_ENV, "reference")
    calls = []
    for name in GRU_NAMES:
        original = getattr(recurrent_kernels, name)
        monkeypatch.setattr(recurrent_kernels, name, lambda *a, _f=original, _n=name, **k: (
            calls.append(_n), _f(*a, **k))[1])
    kernels.forget()
    layer = nnframe.layer("gru", units=4)
    rng = np.random.default_rng(0)
    layer.build((3, 2), rng, np.dtype(np.float32))
    y = layer.forward(rng.standard_normal((2, 3, 2)).astype(np.float32), training=True)
    layer.backward(np.ones_like(y))
    assert calls == ["gru_forward_gates"] * 3 + ["gru_backward_gates"] * 3
