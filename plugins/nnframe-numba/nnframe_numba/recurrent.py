"""The LSTM's and the GRU's gate arithmetic of one time step, forward and backward, each
one compiled call in place of the references' dozen array passes
(`nnframe_recurrent.kernels`).

Each public function has the signature of the reference of the same name. The loops run
row by row over each gate block as a one-dimensional slice indexed from 0: written with
``gate[r, 2 * units + k]`` instead, numba's negative-index handling kept LLVM from
vectorising them (2.5 times slower). A forward step's exp and tanh are
`nnframe_numba.vector_math`'s, which vectorise, where numba's own would call the C
library once an element. Results agree with the references within float32 rounding, not
bit for bit (fused multiply-adds; exp and tanh within 1 and 3 ulp); NaN propagates as in
the references. Forward steps compile for float32 (the float64 used by gradient checks
runs the reference), backward steps for float32 and float64; other dtypes, or arrays of
mixed dtypes, go to the reference.

No GIL is held inside: with ``fit(strategy="threads")`` the shares' steps run at once.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numba import njit

from nnframe_numba.cache import compiled
from nnframe_numba.fallback import FLOAT32, FLOATS, reference, same_dtype
from nnframe_numba.vector_math import FASTMATH, exp32, tanh32


@njit(inline="always")
def _four(row, units):  # pragma: no cover - compiled
    """A row's four blocks of ``units``: the LSTM's i, f, g, o."""
    return row[:units], row[units:2 * units], row[2 * units:3 * units], row[3 * units:]


@njit(inline="always")
def _three(row, units):  # pragma: no cover - compiled
    """A row's three blocks of ``units``: the GRU's r, z, n."""
    return row[:units], row[units:2 * units], row[2 * units:]


@compiled(fastmath=FASTMATH)
def _lstm_forward(gate, cell_prev, cell_next, cell_tanh, state_next,
                  one):  # pragma: no cover - compiled
    n, units = cell_prev.shape
    two = one + one
    for r in range(n):
        i, f, g, o = _four(gate[r], units)
        for k in range(units):  # the gates hold -a (i, f, o) and -2a (g)
            i[k] = one / (one + exp32(i[k]))
        for k in range(units):
            f[k] = one / (one + exp32(f[k]))
        for k in range(units):
            g[k] = two / (one + exp32(g[k])) - one  # tanh(a) = 2 sigmoid(2a) - 1
        for k in range(units):
            o[k] = one / (one + exp32(o[k]))
        c_prev = cell_prev[r]
        c_next = cell_next[r]
        c_tanh = cell_tanh[r]
        h_next = state_next[r]
        for k in range(units):
            c_next[k] = f[k] * c_prev[k] + i[k] * g[k]
        for k in range(units):
            c_tanh[k] = tanh32(c_next[k])
        for k in range(units):
            h_next[k] = o[k] * c_tanh[k]


@compiled(fastmath=FASTMATH)
def _lstm_backward(gate, cell_prev, cell_tanh, grad_state, grad_cell, grad_gate,
                   one):  # pragma: no cover - compiled
    n, units = cell_prev.shape
    for r in range(n):
        i, f, g, o = _four(gate[r], units)
        grad_i, grad_f, grad_g, grad_o = _four(grad_gate[r], units)
        c_prev = cell_prev[r]
        c_tanh = cell_tanh[r]
        grad_h = grad_state[r]
        grad_c = grad_cell[r]
        for k in range(units):  # h_t = o * tanh(c_t)
            t = c_tanh[k]
            grad_c[k] += ((one - t * t) * o[k]) * grad_h[k]
        for k in range(units):  # through each activation: s (1 - s), 1 - g^2
            grad_o[k] = ((grad_h[k] * c_tanh[k]) * (one - o[k])) * o[k]
        for k in range(units):  # c_t = f * c_{t-1} + i * g
            grad_i[k] = ((grad_c[k] * g[k]) * (one - i[k])) * i[k]
        for k in range(units):
            grad_f[k] = ((grad_c[k] * c_prev[k]) * (one - f[k])) * f[k]
        for k in range(units):
            grad_g[k] = ((grad_c[k] * i[k]) * (one - g[k])) * (g[k] + one)
        for k in range(units):
            grad_c[k] *= f[k]


@compiled(fastmath=FASTMATH)
def _gru_forward(gate, carried, state_prev, state_next, one):  # pragma: no cover - compiled
    n, units = state_prev.shape
    for b in range(n):
        r, z, new = _three(gate[b], units)
        carried_r, carried_z, carried_n = _three(carried[b], units)
        h_prev = state_prev[b]
        h_next = state_next[b]
        for k in range(units):  # r and z hold -a
            r[k] = one / (one + exp32(r[k] + carried_r[k]))
        for k in range(units):
            z[k] = one / (one + exp32(z[k] + carried_z[k]))
        for k in range(units):
            new[k] = tanh32(new[k] + r[k] * carried_n[k])
        for k in range(units):  # h_t = n + z (h_{t-1} - n)
            h_next[k] = (h_prev[k] - new[k]) * z[k] + new[k]


@compiled(fastmath=FASTMATH)
def _gru_backward(gate, carried, state_prev, grad_state, grad_gate, grad_carried,
                  one):  # pragma: no cover - compiled
    n, units = state_prev.shape
    for b in range(n):
        r, z, new = _three(gate[b], units)
        carried_n = carried[b][2 * units:]
        grad_r, grad_z, grad_n = _three(grad_gate[b], units)
        carried_grad_r, carried_grad_z, carried_grad_n = _three(grad_carried[b], units)
        h_prev = state_prev[b]
        grad_h = grad_state[b]
        for k in range(units):  # h_t = (1 - z) n + z h_{t-1}, n = tanh(a_n)
            grad_n[k] = ((one - new[k] * new[k]) * (one - z[k])) * grad_h[k]
        for k in range(units):
            grad_z[k] = ((h_prev[k] - new[k]) * ((one - z[k]) * z[k])) * grad_h[k]
        for k in range(units):  # a_n = ... + r * (h_{t-1} W_hn + b_hn)
            grad_r[k] = (grad_n[k] * carried_n[k]) * ((one - r[k]) * r[k])
        for k in range(units):
            carried_grad_r[k] = grad_r[k]
        for k in range(units):
            carried_grad_z[k] = grad_z[k]
        for k in range(units):
            carried_grad_n[k] = grad_n[k] * r[k]
        for k in range(units):
            grad_h[k] *= z[k]


def _step(name: str, kernel: Callable, dtypes: tuple[np.dtype, ...],
          arrays: tuple[np.ndarray, ...], scratch: np.ndarray | None) -> None:
    """``kernel`` on ``arrays`` where they share one of ``dtypes``, else the reference
    ``name`` (which uses ``scratch``). Each kernel also takes 1 in the arrays' dtype, so
    that its constants keep float32 float32."""
    if same_dtype(dtypes, *arrays):
        kernel(*arrays, arrays[0].dtype.type(1.0))
    else:
        reference("nnframe_recurrent.kernels", name)(*arrays, scratch=scratch)


def lstm_forward_gates(gate: np.ndarray, cell_prev: np.ndarray, cell_next: np.ndarray,
                       cell_tanh: np.ndarray, state_next: np.ndarray, *,
                       scratch: np.ndarray | None = None) -> None:
    """One LSTM step after its products in one loop; as the reference
    (`nnframe_recurrent.kernels.lstm_forward_gates`). ``scratch`` is not needed."""
    _step("lstm_forward_gates", _lstm_forward, FLOAT32,
          (gate, cell_prev, cell_next, cell_tanh, state_next), scratch)


def lstm_backward_gates(gate: np.ndarray, cell_prev: np.ndarray, cell_tanh: np.ndarray,
                        grad_state: np.ndarray, grad_cell: np.ndarray,
                        grad_gate: np.ndarray, *, scratch: np.ndarray | None = None
                        ) -> None:
    """One LSTM step's gate gradients in one loop; as the reference
    (`nnframe_recurrent.kernels.lstm_backward_gates`). ``scratch`` is not needed."""
    _step("lstm_backward_gates", _lstm_backward, FLOATS,
          (gate, cell_prev, cell_tanh, grad_state, grad_cell, grad_gate), scratch)


def gru_forward_gates(gate: np.ndarray, carried: np.ndarray, state_prev: np.ndarray,
                      state_next: np.ndarray, *, scratch: np.ndarray | None = None) -> None:
    """One GRU step after its products in one loop; as the reference
    (`nnframe_recurrent.kernels.gru_forward_gates`). ``scratch`` is not needed."""
    _step("gru_forward_gates", _gru_forward, FLOAT32,
          (gate, carried, state_prev, state_next), scratch)


def gru_backward_gates(gate: np.ndarray, carried: np.ndarray, state_prev: np.ndarray,
                       grad_state: np.ndarray, grad_gate: np.ndarray,
                       grad_carried: np.ndarray, *, scratch: np.ndarray | None = None
                       ) -> None:
    """One GRU step's gate gradients in one loop; as the reference
    (`nnframe_recurrent.kernels.gru_backward_gates`). ``scratch`` is not needed."""
    _step("gru_backward_gates", _gru_backward, FLOATS,
          (gate, carried, state_prev, grad_state, grad_gate, grad_carried), scratch)
