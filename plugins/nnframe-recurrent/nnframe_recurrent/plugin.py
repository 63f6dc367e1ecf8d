"""The nnframe plugin module (entry point ``recurrent`` of the group ``nnframe``)."""

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
