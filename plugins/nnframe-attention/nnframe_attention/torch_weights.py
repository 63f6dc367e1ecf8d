"""Weights to and from PyTorch's ``nn.MultiheadAttention`` and ``nn.TransformerEncoderLayer``,
with NumPy alone.

PyTorch packs the query, key and value projections into one ``in_proj_weight`` of shape
(3F, F), rows [0, F) for queries, [F, 2F) keys, [2F, 3F) values, applied as ``x @ W.T``.
nnframe keeps its transpose, ``in_weights`` (F, 3F), the same three blocks as columns, as
``dense`` keeps the transpose of ``nn.Linear.weight``. Every matrix is transposed on the way;
biases and layer-norm vectors are copied as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

import nnframe

#: nnframe's key -> (PyTorch's name, transposed?) for multi_head_attention.
ATTENTION = {"in_weights": ("in_proj_weight", True), "in_bias": ("in_proj_bias", False),
             "out_weights": ("out_proj.weight", True), "out_bias": ("out_proj.bias", False)}
#: ... and for transformer_encoder (PyTorch calls its attention ``self_attn``).
ENCODER = {
    **{f"attention.{key}": (f"self_attn.{name}", t) for key, (name, t) in ATTENTION.items()},
    **{f"{dense}.weights": (f"{dense}.weight", True) for dense in ("linear1", "linear2")},
    **{f"{dense}.bias": (f"{dense}.bias", False) for dense in ("linear1", "linear2")},
    **{f"{norm}.gamma": (f"{norm}.weight", False) for norm in ("norm1", "norm2")},
    **{f"{norm}.beta": (f"{norm}.bias", False) for norm in ("norm1", "norm2")},
}


def _table(layer: Any) -> dict[str, tuple[str, bool]]:
    name = getattr(type(layer), "layer_name", None)
    if name == "multi_head_attention":
        return ATTENTION
    if name == "transformer_encoder":
        return ENCODER
    raise TypeError(f"expected a multi_head_attention or transformer_encoder layer, got "
                    f"{type(layer).__name__}")


def _require_built(layer: Any, table: Mapping[str, Any]) -> None:
    if set(layer.params) != set(table):
        raise nnframe.NetworkStateError(
            f"{type(layer).layer_name} is not built: build it (or its Network) first, so "
            "that its weights have their shapes")


def to_torch_state_dict(layer: Any, prefix: str = "") -> dict[str, np.ndarray]:
    """A built layer's weights under PyTorch's names, as NumPy arrays. Load with
    ``module.load_state_dict({k: torch.from_numpy(v) for k, v in d.items()})``."""
    table = _table(layer)
    _require_built(layer, table)
    return {prefix + name: (layer.params[key].T if transposed else layer.params[key]).copy()
            for key, (name, transposed) in table.items()}


def load_torch_state_dict(layer: Any, state_dict: Mapping[str, Any], prefix: str = "") -> None:
    """Copy a PyTorch module's weights into a built layer, in place.

    ``state_dict`` maps PyTorch's names to tensors or arrays: a module's ``state_dict()``,
    or a whole model's with ``prefix`` (``"layers.0."`` for ``model.layers[0]``). The
    module must have ``batch_first=True`` (an nnframe sequence is (N, time, features)) and
    equal query, key and value sizes (its packed ``in_proj_weight``).
    """
    table = _table(layer)
    _require_built(layer, table)
    values = {}
    for key, (name, transposed) in table.items():
        if prefix + name not in state_dict:
            known = ", ".join(sorted(state_dict)) or "none"
            raise nnframe.DataError(f"{type(layer).layer_name}: the state dict has no "
                                    f"{prefix + name!r} (its keys: {known})")
        value = _numpy(state_dict[prefix + name])
        value = value.T if transposed else value
        if value.shape != layer.params[key].shape:
            raise nnframe.ShapeError(
                f"{type(layer).layer_name}: PyTorch's {name} gives {key} the shape "
                f"{value.shape}, expected {layer.params[key].shape}; is the module built "
                "for the same sizes?")
        values[key] = value
    for key, value in values.items():
        layer.params[key][...] = value  # in place: a network's buffers stay bound


def _numpy(value: Any) -> np.ndarray:
    """A NumPy array from an array or a tensor (detached and moved to the CPU)."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)
