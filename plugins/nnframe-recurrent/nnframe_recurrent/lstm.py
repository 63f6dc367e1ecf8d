"""Long short-term memory, as PyTorch's ``nn.LSTM`` (gate order i, f, g, o)::

    i, f, o = sigmoid(.), g = tanh(.)   of   x_t W_ih + h_{t-1} W_hh + b
    c_t = f * c_{t-1} + i * g
    h_t = o * tanh(c_t)
"""

from __future__ import annotations

from typing import ClassVar

import attrs
import numpy as np

import nnframe
from nnframe.speed.workspace import Workspace
from nnframe_recurrent.recurrent import Recurrent, Run, exp_factors

#: i, f, g, o: which gates are sigmoids (g is a tanh)
SIGMOID_GATES = (True, True, False, True)


@attrs.define(eq=False)
class LSTM(Recurrent):
    """Long short-term memory: (N, time, features) -> (N, units) or (N, time, units).

    The last hidden state, or every one with ``return_sequences``; zero initial hidden and
    cell states.

    ``input_weights`` (features, 4 * units), ``recurrent_weights`` (units, 4 * units) and
    ``bias`` (4 * units,), their columns in PyTorch's gate order i, f, g, o: the transposes
    of PyTorch's ``weight_ih_l0`` and ``weight_hh_l0``, and the sum of its two biases.
    """

    layer_name: ClassVar[str] = "lstm"
    gates: ClassVar[int] = 4
    initial_keys: ClassVar[tuple[str, ...]] = ("initial_state", "initial_cell")

    def _forward_steps(self, steps: np.ndarray, work: Workspace) -> Run:
        time, n, _ = steps.shape
        units, dtype = self.units, steps.dtype
        factors = exp_factors(SIGMOID_GATES, units, dtype)
        scaled = {name: self._scaled(name, factors, work)
                  for name in ("input_weights", "recurrent_weights", "bias")}

        gates = work.get("gates", (time, n, 4 * units), dtype)
        self._project(steps, scaled["input_weights"], scaled["bias"], gates)
        states = self._states(work, time, n, dtype)
        cells = work.get("cells", (time + 1, n, units), dtype)
        cells[0] = self.params["initial_cell"] if self.learned else 0.0
        cell_tanh = work.get("cell_tanh", (time, n, units), dtype)
        carried = work.get("carried", (n, 4 * units), dtype)
        product = work.get("product", (n, units), dtype)
        learned = self.learned  # a nonzero h0 enters the first step too
        # the gate arithmetic, a named kernel (`nnframe_recurrent.kernels`)
        step = nnframe.kernel("lstm_forward_gates")
        with np.errstate(over="ignore"):
            for t in range(time):
                gate = gates[t]
                if t or learned:
                    np.matmul(states[t], scaled["recurrent_weights"], out=carried)
                    gate += carried
                step(gate, cells[t], cells[t + 1], cell_tanh[t], states[t + 1],
                     scratch=product)
        return Run(steps, states, {"gates": gates, "cells": cells, "cell_tanh": cell_tanh})

    def _backward_steps(self, run: Run, grad_states: np.ndarray) -> np.ndarray:
        gates, cells, cell_tanh = (run.arrays[k] for k in ("gates", "cells", "cell_tanh"))
        states = run.states
        time, n, _ = gates.shape
        units, dtype, work = self.units, gates.dtype, self._workspace
        grad = work.get("grad_projection", (time, n, 4 * units), dtype)
        grad_state = work.zeros("grad_state", (n, units), dtype)  # dE/dh_t
        grad_cell = work.zeros("grad_cell", (n, units), dtype)  # dE/dc_t
        scratch = work.get("grad_scratch", (9 * n * units,), dtype)
        recurrent_transposed = self.params["recurrent_weights"].T
        # the gate arithmetic, a named kernel (`nnframe_recurrent.kernels`)
        step = nnframe.kernel("lstm_backward_gates")
        # Step by step, so that each step's arrays stay in the cache between operations.
        for t in reversed(range(time)):
            own = self._grad_state_at(grad_states, t, time)
            if own is not None:
                grad_state += own
            # grad[t] gets dE/d(pre-activations), grad_cell dE/dc_{t-1} through c_t
            step(gates[t], cells[t], cell_tanh[t], grad_state, grad_cell, grad[t],
                 scratch=scratch)
            if t:
                np.matmul(grad[t], recurrent_transposed, out=grad_state)
        first = 0 if self.learned else 1  # a zero initial state adds nothing
        np.matmul(states[first:time].reshape(-1, units).T,
                  grad[first:].reshape(-1, 4 * units), out=self.grads["recurrent_weights"])
        if self.learned:
            self._initial_grad("initial_state", grad[0] @ recurrent_transposed)
            self._initial_grad("initial_cell", grad_cell)  # c_1 = f * c_0 + ...
        return grad
