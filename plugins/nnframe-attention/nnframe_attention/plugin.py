"""The nnframe plugin module (entry point ``attention`` of the group ``nnframe``).

The layers and their ONNX converters are named as ``"module:Class"``, so that listing
components imports none of them (nor NumPy, nor onnx); each module is imported when first
used.
"""

from __future__ import annotations

import nnframe


@nnframe.hookimpl
def register_layers(register) -> None:
    register("multi_head_attention", "nnframe_attention.attention:MultiHeadAttention")
    register("transformer_encoder", "nnframe_attention.encoder:TransformerEncoder")
    register("positional_embedding", "nnframe_attention.positions:PositionalEmbedding")
    register("sinusoidal_position", "nnframe_attention.positions:SinusoidalPosition")
    register("sequence_pool", "nnframe_attention.pooling:SequencePool")


@nnframe.hookimpl
def register_losses(register) -> None:
    register("sequence_cross_entropy", "nnframe_attention.losses:SequenceCrossEntropy")


@nnframe.hookimpl
def register_datasets(register) -> None:
    register("python_chars", "nnframe_attention.text:python_chars_dataset")


@nnframe.hookimpl
def register_converters(register) -> None:
    register("multi_head_attention", "nnframe_attention.converters:MultiHeadAttentionConverter")
    register("transformer_encoder", "nnframe_attention.converters:TransformerEncoderConverter")
    register("positional_embedding", "nnframe_attention.converters:PositionsConverter")
    register("sinusoidal_position", "nnframe_attention.converters:PositionsConverter")
    register("sequence_pool", "nnframe_attention.converters:SequencePoolConverter")
