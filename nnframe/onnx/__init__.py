"""Export a trained `nnframe.Network` to ONNX, for onnxruntime and other ONNX runtimes.

    import nnframe.onnx
    nnframe.onnx.export(network, "model.onnx")    # or: nnframe export model.npz model.onnx

The model reads one float32 tensor called ``input``, shaped ``(batch, *input shape)`` with
the batch axis dynamic, and writes one called ``output``, ``(batch, *output shape)``,
exactly as `Network.predict` lays them out (images channels-last). A float64 network is
exported as float32. Each layer is converted by the converter registered for it through
the ``register_converters`` hook (see `nnframe.onnx.lookup`), so plugin layers export too.

Needs the ``onnx`` extra (``pip install 'nnframe[onnx]'``, which brings onnxruntime to
run the exported models); importing nnframe, or this package, never imports ``onnx``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

#: The name of the exported model's input tensor.
INPUT_NAME = "input"
#: The name of the exported model's output tensor.
OUTPUT_NAME = "output"
#: The name of the dynamic batch axis of both.
BATCH_AXIS = "batch"
#: The ONNX opset written by default, and the oldest one accepted.
DEFAULT_OPSET = 17
#: The oldest onnx package that export supports.
MINIMUM_ONNX = (1, 15)

_LAZY = {
    "export": "nnframe.onnx.exporter",
    "to_model": "nnframe.onnx.exporter",
    "require_onnx": "nnframe.onnx.graph",
    "GraphBuilder": "nnframe.onnx.graph",
    "converter_for": "nnframe.onnx.lookup",
}

if TYPE_CHECKING:
    from nnframe.onnx.exporter import export, to_model
    from nnframe.onnx.graph import GraphBuilder, require_onnx
    from nnframe.onnx.lookup import converter_for


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'nnframe.onnx' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "BATCH_AXIS",
    "DEFAULT_OPSET",
    "INPUT_NAME",
    "OUTPUT_NAME",
    "GraphBuilder",
    "converter_for",
    "export",
    "require_onnx",
    "to_model",
]
