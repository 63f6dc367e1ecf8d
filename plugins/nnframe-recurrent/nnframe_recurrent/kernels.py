"""The LSTM's and the GRU's named kernels (`nnframe.kernel`): the element-wise gate
arithmetic of one time step, forward and backward, as NumPy references, and the arrays the
kit checks a faster version on.

Each step's arrays are (N, units) blocks of one (N, 4 * units) gate row in PyTorch's
order i, f, g, o for the LSTM, of (N, 3 * units) rows in the order r, z, n for the GRU.
The matrix products stay in the layer; these are what runs between them, a dozen array
passes a step that a compiled loop does in one (`nnframe_recurrent.plugin` declares
their `KernelSpec`\\ s; nnframe-numba has such loops). A kernel updates its arrays in
place and returns None. ``scratch`` lends the reference a buffer for its intermediates (a
faster version may ignore it).
"""

from __future__ import annotations

import functools

import numpy as np

from nnframe_recurrent.kernel_cases import GATE_CASES
from nnframe_recurrent.recurrent import activate


def _scratch(scratch: np.ndarray | None, size: int, dtype: np.dtype) -> np.ndarray:
    """``size`` elements of ``scratch``, or a new buffer where none (or too small) is lent."""
    if scratch is None or scratch.size < size or scratch.dtype != dtype:
        return np.empty(size, dtype)
    return scratch.reshape(-1)[:size]


def lstm_forward_gates(gate: np.ndarray, cell_prev: np.ndarray, cell_next: np.ndarray,
                       cell_tanh: np.ndarray, state_next: np.ndarray, *,
                       scratch: np.ndarray | None = None) -> None:
    """One LSTM step after its products: ``gate`` (N, 4 * units) holds the pre-activations
    times -1 (i, f, o) and -2 (g) and becomes sigmoid(i), sigmoid(f), tanh(g),
    sigmoid(o); then ``cell_next`` = f * ``cell_prev`` + i * g, ``cell_tanh`` =
    tanh(``cell_next``) and ``state_next`` = o * ``cell_tanh``."""
    n, width = gate.shape
    units = width // 4
    activate(gate)
    i, f, g, o = (gate[:, k * units:(k + 1) * units] for k in range(4))
    g *= 2.0
    g -= 1.0  # now sigmoid(i), sigmoid(f), tanh(g), sigmoid(o)
    product = _scratch(scratch, n * units, gate.dtype).reshape(n, units)
    np.multiply(f, cell_prev, out=cell_next)
    np.multiply(i, g, out=product)
    cell_next += product
    np.tanh(cell_next, out=cell_tanh)
    np.multiply(o, cell_tanh, out=state_next)


def lstm_backward_gates(gate: np.ndarray, cell_prev: np.ndarray, cell_tanh: np.ndarray,
                        grad_state: np.ndarray, grad_cell: np.ndarray,
                        grad_gate: np.ndarray, *, scratch: np.ndarray | None = None
                        ) -> None:
    """One LSTM step back to its products: from ``gate`` (the activated i, f, g, o of
    `lstm_forward_gates`), the step's ``cell_prev`` and ``cell_tanh``, dE/dh_t
    ``grad_state`` and the dE/dc_t that later steps sent, ``grad_cell``: ``grad_gate``
    (N, 4 * units) gets dE/d(pre-activations) and ``grad_cell`` becomes the part of
    dE/dc_{t-1} that goes through c_t = f * c_{t-1} + i * g."""
    n, width = gate.shape
    units = width // 4
    i, f, g, o = (gate[:, k * units:(k + 1) * units] for k in range(4))
    gi, gf, gg, go = (grad_gate[:, k * units:(k + 1) * units] for k in range(4))
    buffer = _scratch(scratch, n * units + 2 * n * width, gate.dtype)
    product = buffer[:n * units].reshape(n, units)
    slope = buffer[n * units:n * units + n * width].reshape(n, width)
    offset = buffer[n * units + n * width:].reshape(n, width)
    # h_t = o * tanh(c_t)
    np.multiply(grad_state, cell_tanh, out=go)
    np.multiply(cell_tanh, cell_tanh, out=product)
    np.subtract(1.0, product, out=product)
    product *= o
    product *= grad_state
    grad_cell += product
    # c_t = f * c_{t-1} + i * g
    np.multiply(grad_cell, g, out=gi)
    np.multiply(grad_cell, cell_prev, out=gf)
    np.multiply(grad_cell, i, out=gg)
    # through the activations to the pre-activations: (1 - a) (a + [0, 0, 1, 0]), that
    # is s (1 - s) for the sigmoid gates and 1 - g^2 for g
    np.subtract(1.0, gate, out=slope)
    np.copyto(offset, gate)
    offset[:, 2 * units:3 * units] += 1.0
    grad_gate *= slope
    grad_gate *= offset
    grad_cell *= f


def gru_forward_gates(gate: np.ndarray, carried: np.ndarray, state_prev: np.ndarray,
                      state_next: np.ndarray, *, scratch: np.ndarray | None = None) -> None:
    """One GRU step after its products: ``gate`` (N, 3 * units) holds the input
    pre-activations x_t W_i + b_i, times -1 for r and z (see `activate`), and ``carried``
    the recurrent ones h_{t-1} W_h + b_h, scaled alike; ``gate`` becomes sigmoid(r),
    sigmoid(z), n = tanh(a_n + r * carried_n), and ``state_next`` h_t = n + z * (h_{t-1}
    - n) from ``state_prev``, h_{t-1}."""
    n, width = gate.shape
    units = width // 3
    rz = gate[:, :2 * units]
    rz += carried[:, :2 * units]
    activate(rz)  # now sigmoid(r), sigmoid(z)
    r, z, new = (gate[:, k * units:(k + 1) * units] for k in range(3))
    product = _scratch(scratch, n * units, gate.dtype).reshape(n, units)
    np.multiply(r, carried[:, 2 * units:], out=product)
    new += product
    np.tanh(new, out=new)
    np.subtract(state_prev, new, out=state_next)
    state_next *= z
    state_next += new


def gru_backward_gates(gate: np.ndarray, carried: np.ndarray, state_prev: np.ndarray,
                       grad_state: np.ndarray, grad_gate: np.ndarray,
                       grad_carried: np.ndarray, *, scratch: np.ndarray | None = None
                       ) -> None:
    """One GRU step back to its products: from ``gate`` (the activated r, z, n of
    `gru_forward_gates`), the step's ``carried`` (only its n block is read), ``state_prev``
    h_{t-1} and dE/dh_t ``grad_state``: ``grad_gate`` (N, 3 * units) gets dE/d(the input
    pre-activations), ``grad_carried`` dE/d(the recurrent ones, ``carried``: n's through
    r), and ``grad_state`` becomes the part of dE/dh_{t-1} that goes through h_t = ... +
    z * h_{t-1}."""
    n, width = gate.shape
    units = width // 3
    r, z, new = (gate[:, k * units:(k + 1) * units] for k in range(3))
    gr, gz, gn = (grad_gate[:, k * units:(k + 1) * units] for k in range(3))
    product = _scratch(scratch, n * units, gate.dtype).reshape(n, units)
    # h_t = (1 - z) * n + z * h_{t-1}, n = tanh(a_n)
    np.multiply(new, new, out=gn)
    np.subtract(1.0, gn, out=gn)
    np.subtract(1.0, z, out=product)
    gn *= product
    gn *= grad_state  # dE/da_n
    product *= z
    np.subtract(state_prev, new, out=gz)
    gz *= product
    gz *= grad_state  # dE/da_z
    # a_n = ... + r * (h_{t-1} W_hn + b_hn)
    np.multiply(gn, carried[:, 2 * units:], out=gr)
    np.subtract(1.0, r, out=product)
    product *= r
    gr *= product  # dE/da_r
    grad_carried[:, :2 * units] = grad_gate[:, :2 * units]
    np.multiply(gn, r, out=grad_carried[:, 2 * units:])
    grad_state *= z


# -- the kit's cases ---------------------------------------------------------------------


def _random(rng: np.random.Generator, dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
    return rng.standard_normal(shape).astype(dtype)


def _unset(dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
    """An output the kernel must fill: NaN everywhere, so that a cell left unwritten shows."""
    return np.full(shape, np.nan, dtype)


def lstm_arguments(label: str, rng: np.random.Generator, dtype: np.dtype
                   ) -> tuple[list[np.ndarray], dict]:
    """The kit's arrays for the `GATE_CASES` case ``label`` (`KernelCase.make`): the
    LSTM forward's or backward's, random, outputs NaN so that every cell must be written."""
    direction, n, units = GATE_CASES[label]
    draw = functools.partial(_random, rng, dtype)
    unset = functools.partial(_unset, dtype)
    if direction == "forward":
        return [draw((n, 4 * units)), draw((n, units)), unset((n, units)),
                unset((n, units)), unset((n, units))], {}
    gate = rng.uniform(0.0, 1.0, (n, 4 * units)).astype(dtype)  # activated: sigmoids
    gate[:, 2 * units:3 * units] = 2 * gate[:, 2 * units:3 * units] - 1  # tanh(g)
    cell_tanh = np.tanh(draw((n, units)))
    return [gate, draw((n, units)), cell_tanh, draw((n, units)), draw((n, units)),
            unset((n, 4 * units))], {}


def gru_arguments(label: str, rng: np.random.Generator, dtype: np.dtype
                  ) -> tuple[list[np.ndarray], dict]:
    """The kit's arrays for the `GATE_CASES` case ``label`` (`KernelCase.make`), as
    `lstm_arguments` makes the LSTM's."""
    direction, n, units = GATE_CASES[label]
    draw = functools.partial(_random, rng, dtype)
    unset = functools.partial(_unset, dtype)
    if direction == "forward":
        return [draw((n, 3 * units)), draw((n, 3 * units)), draw((n, units)),
                unset((n, units))], {}
    gate = rng.uniform(0.0, 1.0, (n, 3 * units)).astype(dtype)  # activated: sigmoids
    gate[:, 2 * units:] = 2 * gate[:, 2 * units:] - 1  # n = tanh(.)
    return [gate, draw((n, 3 * units)), draw((n, units)), draw((n, units)),
            unset((n, 3 * units)), unset((n, 3 * units))], {}
