"""nnframe-recurrent: recurrent layers for nnframe, on sequences shaped (N, time, features).

Installed, it registers ``rnn``, ``lstm`` and ``gru`` through nnframe's ``register_layers``
hook (entry point group ``nnframe``); build them with ``nnframe.layer("lstm", 128)`` or
import the classes from here. Weights follow PyTorch's gate order and formulas:
`to_torch_state_dict` and `load_torch_state_dict` move them between the two. The names
are imported on first use, so that loading the plugin (``nnframe list``) stays cheap.
"""

from typing import TYPE_CHECKING

from nnframe_recurrent._version import __version__

_LAZY = {
    "GRU": "nnframe_recurrent.gru",
    "LSTM": "nnframe_recurrent.lstm",
    "SimpleRNN": "nnframe_recurrent.rnn",
    "load_torch_state_dict": "nnframe_recurrent.torch_weights",
    "to_torch_state_dict": "nnframe_recurrent.torch_weights",
}

if TYPE_CHECKING:
    from nnframe_recurrent.gru import GRU
    from nnframe_recurrent.lstm import LSTM
    from nnframe_recurrent.rnn import SimpleRNN
    from nnframe_recurrent.torch_weights import load_torch_state_dict, to_torch_state_dict

__all__ = [
    "GRU",
    "LSTM",
    "SimpleRNN",
    "__version__",
    "load_torch_state_dict",
    "to_torch_state_dict",
]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'nnframe_recurrent' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
