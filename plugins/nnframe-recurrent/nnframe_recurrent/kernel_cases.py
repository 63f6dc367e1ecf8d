"""The LSTM's and the GRU's kernels' `KernelSpec`\\ s, which the plugin declares: the
shapes the kit checks a faster ``lstm_forward_gates``, ``lstm_backward_gates``,
``gru_forward_gates`` and ``gru_backward_gates`` on (the arrays are made by
`nnframe_recurrent.kernels`). Plain Python: declaring them at registration
imports neither NumPy nor the kernels.
"""

from __future__ import annotations

from nnframe.speed.kernels import KernelCase, KernelSpec

#: label -> (direction, batch, units): the shapes both layers' gate kernels are checked on
GATE_CASES: dict[str, tuple[str, int, int]] = {
    "forward, 128 units (the seq-mnist's)": ("forward", 16, 128),
    "forward, batch 1, 1 unit": ("forward", 1, 1),
    "forward, odd sizes": ("forward", 3, 7),
    "backward, 128 units (the seq-mnist's)": ("backward", 16, 128),
    "backward, batch 1, 1 unit": ("backward", 1, 1),
    "backward, odd sizes": ("backward", 3, 7),
}

_MODULE = "nnframe_recurrent.kernels"
_FORWARD = ("gate", "cell_prev", "cell_next", "cell_tanh", "state_next")
_BACKWARD = ("gate", "cell_prev", "cell_tanh", "grad_state", "grad_cell", "grad_gate")
_GRU_FORWARD = ("gate", "carried", "state_prev", "state_next")
_GRU_BACKWARD = ("gate", "carried", "state_prev", "grad_state", "grad_gate", "grad_carried")


def _cases(direction: str, arrays: tuple[str, ...], make: str) -> tuple[KernelCase, ...]:
    return tuple(KernelCase(label, arrays, steps=1, make=f"{_MODULE}:{make}")
                 for label, case in GATE_CASES.items() if case[0] == direction)


SPECS: tuple[KernelSpec, ...] = (
    KernelSpec("lstm_forward_gates", f"{_MODULE}:lstm_forward_gates",
               _cases("forward", _FORWARD, "lstm_arguments")),
    KernelSpec("lstm_backward_gates", f"{_MODULE}:lstm_backward_gates",
               _cases("backward", _BACKWARD, "lstm_arguments")),
    KernelSpec("gru_forward_gates", f"{_MODULE}:gru_forward_gates",
               _cases("forward", _GRU_FORWARD, "gru_arguments")),
    KernelSpec("gru_backward_gates", f"{_MODULE}:gru_backward_gates",
               _cases("backward", _GRU_BACKWARD, "gru_arguments")),
)
"""The LSTM's and the GRU's kernels."""
