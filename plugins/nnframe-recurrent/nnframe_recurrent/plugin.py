"""The nnframe plugin module (entry point ``recurrent`` of the group ``nnframe``).

The layers are named as ``"module:Class"``, so that listing components imports none of
them (nor NumPy); each module is imported when its layer is first built.
"""

from __future__ import annotations

import nnframe


@nnframe.hookimpl
def register_layers(register) -> None:
    register("rnn", "nnframe_recurrent.rnn:SimpleRNN")
    register("lstm", "nnframe_recurrent.lstm:LSTM")
    register("gru", "nnframe_recurrent.gru:GRU")
