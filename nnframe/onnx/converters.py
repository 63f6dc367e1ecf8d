"""The ONNX converters of nnframe's built-in layers, registered by the built-in plugin.

Each reads the built layer (its ``params``, ``state`` and settings) and adds nodes through
the `GraphBuilder`; none imports onnx, so they load (and ``nnframe check`` checks them)
where onnx is not installed. The composites convert their inner layers through the same
lookup as the network's own layers, so plugin layers may sit inside them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from nnframe.onnx.contract import Converter

if TYPE_CHECKING:
    from nnframe.onnx.graph import GraphBuilder


@attrs.define(eq=False)
class DenseConverter(Converter):
    """Converts dense: y = x @ weights + bias, as Gemm (MatMul and Add on samples with
    more than one axis, since the product is over the last one); MatMul alone without a
    bias (``use_bias=False``)."""

    def convert(self, layer: Any, x: str, graph: GraphBuilder) -> str:
        weights = graph.constant(layer.params["weights"], "weights")
        if "bias" not in layer.params:
            return graph.node("MatMul", [x, weights])
        bias = graph.constant(layer.params["bias"], "bias")
        if len(graph.sample_shape(x) or ()) == 1:
            return graph.node("Gemm", [x, weights, bias])
        return graph.node("Add", [graph.node("MatMul", [x, weights]), bias])


@attrs.define(eq=False)
class _ElementwiseConverter(Converter):
    """One ONNX operator that acts on each element alone (so in any layout)."""

    op_type: ClassVar[str] = ""

    def convert(self, layer: Any, x: str, graph: GraphBuilder) -> str:
        return graph.elementwise(self.op_type, x)


@attrs.define(eq=False)
class TanhConverter(_ElementwiseConverter):
    """Converts tanh: ONNX Tanh."""

    op_type: ClassVar[str] = "Tanh"


@attrs.define(eq=False)
class SigmoidConverter(_ElementwiseConverter):
    """Converts sigmoid: ONNX Sigmoid."""

    op_type: ClassVar[str] = "Sigmoid"


@attrs.define(eq=False)
class ReLUConverter(_ElementwiseConverter):
    """Converts relu: ONNX Relu."""

    op_type: ClassVar[str] = "Relu"


@attrs.define(eq=False)
class SoftmaxConverter(Converter):
    """Converts softmax: ONNX Softmax over the last axis (or the layer's ``axis``, which
    counts the batch axis as ONNX does)."""

    op_type: ClassVar[str] = "Softmax"

    def convert(self, layer: Any, x: str, graph: GraphBuilder) -> str:
        return graph.node(self.op_type, [x], axis=int(getattr(layer, "axis", -1)))


@attrs.define(eq=False)
class LogSoftmaxConverter(SoftmaxConverter):
    """Converts log_softmax: ONNX LogSoftmax over the layer's ``axis``."""

    op_type: ClassVar[str] = "LogSoftmax"


@attrs.define(eq=False)
class SiLUConverter(Converter):
    """Converts silu: x * Sigmoid(x)."""

    def convert(self, layer: Any, x: str, graph: GraphBuilder) -> str:
        return graph.node("Mul", [x, graph.elementwise("Sigmoid", x)])


@attrs.define(eq=False)
class ELUConverter(Converter):
    """Converts elu: ONNX Elu with the layer's ``alpha``."""

    def convert(self, layer: Any, x: str, graph: GraphBuilder) -> str:
        return graph.elementwise("Elu", x, alpha=float(layer.alpha))


@attrs.define(eq=False)
class SoftplusConverter(Converter):
    """Converts softplus: Softplus(beta * x) / beta, and x itself where beta * x is above
    the layer's ``threshold`` (Greater and Where)."""

    def convert(self, layer: Any, x: str, graph: GraphBuilder) -> str:
        beta = float(layer.beta)
        scaled = x if beta == 1.0 else graph.node("Mul", [x, graph.constant(beta, "beta")])
        y = graph.node("Softplus", [scaled])
        if beta != 1.0:
            y = graph.node("Div", [y, graph.constant(beta, "beta")])
        linear = graph.node("Greater", [scaled, graph.constant(float(layer.threshold),
                                                               "threshold")])
        return graph.node("Where", [linear, x, y])


@attrs.define(eq=False)
class HardSigmoidConverter(Converter):
    """Converts hard_sigmoid: ONNX HardSigmoid with alpha 1/6 and beta 1/2 (PyTorch's)."""

    def convert(self, layer: Any, x: str, graph: GraphBuilder) -> str:
        return graph.elementwise("HardSigmoid", x, alpha=1.0 / 6.0, beta=0.5)


@attrs.define(eq=False)
class LeakyReLUConverter(Converter):
    """Converts leaky_relu: ONNX LeakyRelu with alpha = negative_slope."""

    def convert(self, layer: Any, x: str, graph: GraphBuilder) -> str:
        return graph.elementwise("LeakyRelu", x, alpha=float(layer.negative_slope))


@attrs.define(eq=False)
class DropoutConverter(Converter):
    """Converts dropout: the identity, as at inference (no node at all)."""

    def convert(self, layer: Any, x: str, graph: GraphBuilder) -> str:
        return x


@attrs.define(eq=False)
class FlattenConverter(Converter):
    """Converts flatten: ONNX Flatten from axis 1, in nnframe's (channels-last) order."""

    def convert(self, layer: Any, x: str, graph: GraphBuilder) -> str:
        return graph.node("Flatten", [x], axis=1)


@attrs.define(eq=False)
class SequentialConverter(Converter):
    """Converts sequential: its inner layers in a chain, each through its own converter."""

    def convert(self, layer: Any, x: str, graph: GraphBuilder) -> str:
        for index, inner in enumerate(layer.layers):
            x = graph.convert(inner, x, f"inner layer {index}")
        return x


@attrs.define(eq=False)
class ResidualConverter(SequentialConverter):
    """Converts residual: Add of the input and its inner layers' output."""

    def convert(self, layer: Any, x: str, graph: GraphBuilder) -> str:
        return graph.node("Add", [super().convert(layer, x, graph), x])


@attrs.define(eq=False)
class ParallelConverter(Converter):
    """Converts parallel: every branch on the input (an empty one is the input itself),
    then Concat along the last axis, or Add in the order of the branches."""

    def convert(self, layer: Any, x: str, graph: GraphBuilder) -> str:
        outputs = []
        for b, branch in enumerate(layer.branches):
            y = x
            for index, inner in enumerate(branch):
                y = graph.convert(inner, y, f"branch {b} layer {index}")
            outputs.append(y)
        if layer.merge == "concat":
            return graph.node("Concat", outputs, axis=-1) if len(outputs) > 1 else outputs[0]
        total = outputs[0]
        for y in outputs[1:]:
            total = graph.node("Add", [total, y])
        return total
