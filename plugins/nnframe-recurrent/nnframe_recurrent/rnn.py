"""The Elman recurrent layer with tanh, as PyTorch's ``nn.RNN``:
``h_t = tanh(x_t W_ih + h_{t-1} W_hh + b)``."""

from __future__ import annotations

from typing import ClassVar

import attrs
import numpy as np

from nnframe.workspace import Workspace
from nnframe_recurrent.recurrent import Recurrent, Run


@attrs.define(eq=False)
class SimpleRNN(Recurrent):
    """Elman recurrent layer with tanh: (N, time, features) -> (N, units) or (N, time, units).

    The last hidden state, or every one with ``return_sequences``; zero initial state.

    ``input_weights`` (features, units), ``recurrent_weights`` (units, units), ``bias``
    (units,): the transposes of PyTorch's ``weight_ih_l0`` and ``weight_hh_l0``, and the
    sum of its ``bias_ih_l0`` and ``bias_hh_l0``.
    """

    layer_name: ClassVar[str] = "rnn"
    gates: ClassVar[int] = 1

    def _forward_steps(self, steps: np.ndarray, work: Workspace) -> Run:
        time, n, _ = steps.shape
        states = self._states(work, time, n, steps.dtype)
        # every step's input projection straight into its state's slot, then in place
        self._project(steps, self.params["input_weights"], self.params["bias"], states[1:])
        recurrent_weights = self.params["recurrent_weights"]
        carried = work.get("carried", (n, self.units), steps.dtype)
        for t in range(time):
            state = states[t + 1]
            if t:
                np.matmul(states[t], recurrent_weights, out=carried)
                state += carried
            np.tanh(state, out=state)
        return Run(steps, states)

    def _backward_steps(self, run: Run, grad_states: np.ndarray) -> np.ndarray:
        states = run.states
        time, n, units = states.shape[0] - 1, states.shape[1], self.units
        grad = self._workspace.get("grad_projection", (time, n, units), states.dtype)
        grad_state = self._workspace.zeros("grad_state", (n, units), states.dtype)  # dE/dh_t
        recurrent_transposed = self.params["recurrent_weights"].T
        for t in reversed(range(time)):
            own = self._grad_state_at(grad_states, t, time)
            if own is not None:
                grad_state += own
            np.multiply(states[t + 1], states[t + 1], out=grad[t])
            np.subtract(1.0, grad[t], out=grad[t])
            grad[t] *= grad_state  # dE/da_t = dE/dh_t (1 - h_t^2)
            if t:
                np.matmul(grad[t], recurrent_transposed, out=grad_state)
        np.matmul(states[1:time].reshape(-1, units).T, grad[1:].reshape(-1, units),
                  out=self.grads["recurrent_weights"])
        return grad
