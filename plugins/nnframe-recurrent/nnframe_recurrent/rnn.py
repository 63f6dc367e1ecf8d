"""The Elman recurrent layer, as PyTorch's ``nn.RNN``:
``h_t = tanh(x_t W_ih + h_{t-1} W_hh + b)``, or relu in place of tanh."""

from __future__ import annotations

from typing import Any, ClassVar

import attrs
import numpy as np

import nnframe
from nnframe.speed.workspace import Workspace
from nnframe_recurrent.recurrent import Recurrent, Run

NONLINEARITIES = ("tanh", "relu")


def _check_nonlinearity(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if value not in NONLINEARITIES:
        raise nnframe.ConfigError(f"{instance.layer_name}: nonlinearity must be 'tanh' or "
                                  f"'relu' (as PyTorch's), got {value!r}")


@attrs.define(eq=False)
class SimpleRNN(Recurrent):
    """Elman recurrent layer: (N, time, features) -> (N, units) or (N, time, units).

    The last hidden state, or every one with ``return_sequences``; zero initial state.
    ``nonlinearity`` is ``"tanh"`` (default) or ``"relu"``, as PyTorch's.

    ``input_weights`` (features, units), ``recurrent_weights`` (units, units), ``bias``
    (units,): the transposes of PyTorch's ``weight_ih_l0`` and ``weight_hh_l0``, and the
    sum of its ``bias_ih_l0`` and ``bias_hh_l0``.
    """

    layer_name: ClassVar[str] = "rnn"
    gates: ClassVar[int] = 1

    nonlinearity: str = attrs.field(default="tanh", validator=_check_nonlinearity)

    def _forward_steps(self, steps: np.ndarray, work: Workspace) -> Run:
        time, n, _ = steps.shape
        states = self._states(work, time, n, steps.dtype)
        # every step's input projection straight into its state's slot, then in place
        self._project(steps, self.params["input_weights"], self._param("bias"), states[1:])
        relu = self.nonlinearity == "relu"
        recurrent_weights = self.params["recurrent_weights"]
        carried = work.get("carried", (n, self.units), steps.dtype)
        learned = self.learned  # a nonzero h0 enters the first step too
        for t in range(time):
            state = states[t + 1]
            if t or learned:
                np.matmul(states[t], recurrent_weights, out=carried)
                state += carried
            if relu:
                np.maximum(state, 0.0, out=state)
            else:
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
            if self.nonlinearity == "relu":  # dE/da_t = dE/dh_t [h_t > 0]
                np.multiply(grad_state, states[t + 1] > 0.0, out=grad[t])
            else:  # dE/da_t = dE/dh_t (1 - h_t^2)
                np.multiply(states[t + 1], states[t + 1], out=grad[t])
                np.subtract(1.0, grad[t], out=grad[t])
                grad[t] *= grad_state
            if t:
                np.matmul(grad[t], recurrent_transposed, out=grad_state)
        first = 0 if self.learned else 1  # a zero initial state adds nothing
        np.matmul(states[first:time].reshape(-1, units).T, grad[first:].reshape(-1, units),
                  out=self.grads["recurrent_weights"])
        if self.learned:
            self._initial_grad("initial_state", grad[0] @ recurrent_transposed)
        return grad
