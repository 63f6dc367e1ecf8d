"""The nnframe plugin module (entry point ``recurrent`` of the group ``nnframe``).

The layers and their ONNX converters are named as ``"module:Class"``, so that listing
components imports none of them (nor NumPy, nor onnx); each module is imported when first
used.
"""

from __future__ import annotations

import nnframe


@nnframe.hookimpl
def register_layers(register) -> None:
    register("rnn", "nnframe_recurrent.rnn:SimpleRNN")
    register("lstm", "nnframe_recurrent.lstm:LSTM")
    register("gru", "nnframe_recurrent.gru:GRU")


@nnframe.hookimpl
def register_converters(register) -> None:
    register("rnn", "nnframe_recurrent.converters:SimpleRNNConverter")
    register("lstm", "nnframe_recurrent.converters:LSTMConverter")
    register("gru", "nnframe_recurrent.converters:GRUConverter")


@nnframe.hookimpl
def register_kernels(register) -> None:
    # The LSTM's and the GRU's own named kernels: their specs (what the kit checks a
    # faster version on), then the NumPy references; nnframe-numba registers compiled ones.
    from nnframe.speed.kernels import declare
    from nnframe_recurrent.kernel_cases import SPECS

    for spec in SPECS:
        declare(spec)
        register(spec.name, spec.reference)
