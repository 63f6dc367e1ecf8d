"""Gated recurrent unit, as PyTorch's ``nn.GRU`` (gate order r, z, n)::

    r = sigmoid(x_t W_ir + b_ir + h_{t-1} W_hr + b_hr)
    z = sigmoid(x_t W_iz + b_iz + h_{t-1} W_hz + b_hz)
    n = tanh(x_t W_in + b_in + r * (h_{t-1} W_hn + b_hn))
    h_t = (1 - z) * n + z * h_{t-1}
"""

from __future__ import annotations

from typing import ClassVar

import attrs
import numpy as np

import nnframe
from nnframe.speed.workspace import Workspace
from nnframe_recurrent.recurrent import Draw, Recurrent, Run, exp_factors

#: r, z, n: which gates are sigmoids (n is a tanh)
SIGMOID_GATES = (True, True, False)


@attrs.define(eq=False)
class GRU(Recurrent):
    """Gated recurrent unit: (N, time, features) -> (N, units) or (N, time, units).

    The last hidden state, or every one with ``return_sequences``; zero initial state.

    ``input_weights`` (features, 3 * units), ``recurrent_weights`` (units, 3 * units),
    ``input_bias`` and ``recurrent_bias`` (3 * units,), their columns in PyTorch's gate
    order r, z, n: the transposes of PyTorch's ``weight_ih_l0`` and ``weight_hh_l0``, and
    its ``bias_ih_l0`` and ``bias_hh_l0`` (two biases, since ``r`` multiplies the recurrent
    one of n).
    """

    layer_name: ClassVar[str] = "gru"
    gates: ClassVar[int] = 3
    input_bias_key: ClassVar[str] = "input_bias"

    def _initial_biases(self, draw: Draw, width: int) -> dict[str, np.ndarray]:
        return {"input_bias": draw((width,)), "recurrent_bias": draw((width,))}

    def _forward_steps(self, steps: np.ndarray, work: Workspace) -> Run:
        time, n, _ = steps.shape
        units, dtype = self.units, steps.dtype
        factors = exp_factors(SIGMOID_GATES, units, dtype)
        factors[2 * units:] = 1.0  # n's tanh waits for r: its pre-activation stays as it is
        scaled = {name: self._scaled(name, factors, work) for name in
                  ("input_weights", "input_bias", "recurrent_weights", "recurrent_bias")}

        gates = work.get("gates", (time, n, 3 * units), dtype)
        self._project(steps, scaled["input_weights"], scaled["input_bias"], gates)
        # h_{t-1} W_hh + b_hh of every step: backward needs its n block
        hidden = work.get("hidden", (time, n, 3 * units), dtype)
        states = self._states(work, time, n, dtype)
        product = work.get("product", (n, units), dtype)
        learned = self.learned  # a nonzero h0 enters the first step too
        # the gate arithmetic, a named kernel (`nnframe_recurrent.kernels`)
        step = nnframe.kernel("gru_forward_gates")
        with np.errstate(over="ignore"):
            for t in range(time):
                carried = hidden[t]
                if t or learned:
                    np.matmul(states[t], scaled["recurrent_weights"], out=carried)
                    carried += scaled["recurrent_bias"]
                else:
                    carried[...] = scaled["recurrent_bias"]
                step(gates[t], carried, states[t], states[t + 1], scratch=product)
        return Run(steps, states, {"gates": gates, "hidden": hidden})

    def _backward_steps(self, run: Run, grad_states: np.ndarray) -> np.ndarray:
        gates, hidden, states = run.arrays["gates"], run.arrays["hidden"], run.states
        time, n, _ = gates.shape
        units, dtype, work = self.units, gates.dtype, self._workspace
        grad = work.get("grad_projection", (time, n, 3 * units), dtype)
        # the recurrent pre-activations: as grad, but n's through r
        grad_hidden = work.get("grad_hidden", (time, n, 3 * units), dtype)
        grad_state = work.get("grad_state", (n, units), dtype)  # dE/dh_t
        np.copyto(grad_state, self._grad_state_at(grad_states, time - 1, time))
        product = work.get("grad_product", (n, units), dtype)
        carry = work.get("grad_carry", (n, units), dtype)
        recurrent_transposed = self.params["recurrent_weights"].T
        # the gate arithmetic, a named kernel (`nnframe_recurrent.kernels`)
        step = nnframe.kernel("gru_backward_gates")
        # Step by step, so that each step's arrays stay in the cache between operations.
        for t in reversed(range(time)):
            # grad[t] and grad_hidden[t] get dE/d(pre-activations), grad_state the part
            # of dE/dh_{t-1} through h_t = ... + z * h_{t-1}
            step(gates[t], hidden[t], states[t], grad_state, grad[t], grad_hidden[t],
                 scratch=product)
            if t:
                np.matmul(grad_hidden[t], recurrent_transposed, out=carry)
                grad_state += carry
                own = self._grad_state_at(grad_states, t - 1, time)
                if own is not None:
                    grad_state += own
        first = 0 if self.learned else 1  # a zero initial state adds nothing
        np.matmul(states[first:time].reshape(-1, units).T,
                  grad_hidden[first:].reshape(-1, 3 * units), out=self.grads["recurrent_weights"])
        if self.learned:  # h_1 = ... + z * h_0 (grad_state now), and h_0 W_hh in every gate
            self._initial_grad("initial_state", grad_hidden[0] @ recurrent_transposed
                               + grad_state)
        if self.use_bias:
            self._sum_rows(grad_hidden.reshape(-1, 3 * units), self.grads["recurrent_bias"])
        return grad
