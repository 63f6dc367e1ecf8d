"""The nnframe plugin module (entry point ``recurrent`` of the group ``nnframe``).

The ONNX converters are named as ``"module:Class"``: imported only when a network is
exported.
"""

from __future__ import annotations

import nnframe
from nnframe_recurrent.gru import GRU
from nnframe_recurrent.lstm import LSTM
from nnframe_recurrent.rnn import SimpleRNN


@nnframe.hookimpl
def register_layers(register) -> None:
    register("rnn", SimpleRNN)
    register("lstm", LSTM)
    register("gru", GRU)


@nnframe.hookimpl
def register_converters(register) -> None:
    register("rnn", "nnframe_recurrent.converters:SimpleRNNConverter")
    register("lstm", "nnframe_recurrent.converters:LSTMConverter")
    register("gru", "nnframe_recurrent.converters:GRUConverter")
