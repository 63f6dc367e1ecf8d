"""The ONNX converter of ``gelu``, in arithmetic of the project's opset.

ONNX's own Gelu operator needs opset 20; the exported graphs are opset 17, so GELU is
written out: ``0.5 x (1 + Erf(x / sqrt(2)))``, or with ``approximate="tanh"``
``0.5 x (1 + Tanh(sqrt(2/pi) (x + 0.044715 x^3)))``. Nothing here imports onnx.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from nnframe.onnx.contract import Converter

if TYPE_CHECKING:
    from nnframe.onnx.graph import GraphBuilder


@attrs.define(eq=False)
class GELUConverter(Converter):
    """Converts gelu: Erf (or Tanh) with Mul and Add, since Gelu needs opset 20."""

    def convert(self, layer: Any, x: str, graph: GraphBuilder) -> str:
        def const(value: float, hint: str) -> str:
            return graph.constant(np.array(value, dtype=np.float32), hint)

        if layer.approximate == "tanh":
            cube = graph.node("Mul", [graph.node("Mul", [x, x]), x])
            inner = graph.node("Add", [x, graph.node("Mul", [cube, const(0.044715, "cubic")])])
            scaled = graph.node("Mul", [inner, const(math.sqrt(2.0 / math.pi), "scale")])
            curve = graph.node("Tanh", [scaled])
        else:
            scaled = graph.node("Mul", [x, const(math.sqrt(0.5), "sqrt_half")])
            curve = graph.node("Erf", [scaled])
        one_plus = graph.node("Add", [curve, const(1.0, "one")])
        half_x = graph.node("Mul", [x, const(0.5, "half")])
        return graph.node("Mul", [half_x, one_plus])
