"""nnframe-attention: attention layers for nnframe, on sequences shaped (N, time, features).

Installed, it registers ``multi_head_attention``, ``transformer_encoder``,
``positional_embedding``, ``sinusoidal_position`` and ``sequence_pool`` through nnframe's
``register_layers`` hook (entry point group ``nnframe``), and their ONNX converters.
Weights follow PyTorch's layout, transposed as ``dense`` is: `to_torch_state_dict` and
`load_torch_state_dict` move them between the two. The names are imported on first use,
so that loading the plugin (``nnframe list``) stays cheap.
"""

from typing import TYPE_CHECKING

from nnframe_attention._version import __version__

_LAZY = {
    "MultiHeadAttention": "nnframe_attention.attention",
    "PositionalEmbedding": "nnframe_attention.positions",
    "SequencePool": "nnframe_attention.pooling",
    "SinusoidalPosition": "nnframe_attention.positions",
    "TransformerEncoder": "nnframe_attention.encoder",
    "load_torch_state_dict": "nnframe_attention.torch_weights",
    "to_torch_state_dict": "nnframe_attention.torch_weights",
}

if TYPE_CHECKING:
    from nnframe_attention.attention import MultiHeadAttention
    from nnframe_attention.encoder import TransformerEncoder
    from nnframe_attention.pooling import SequencePool
    from nnframe_attention.positions import PositionalEmbedding, SinusoidalPosition
    from nnframe_attention.torch_weights import load_torch_state_dict, to_torch_state_dict

__all__ = [
    "MultiHeadAttention",
    "PositionalEmbedding",
    "SequencePool",
    "SinusoidalPosition",
    "TransformerEncoder",
    "__version__",
    "load_torch_state_dict",
    "to_torch_state_dict",
]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'nnframe_attention' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
