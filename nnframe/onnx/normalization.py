"""ONNX converters for ``batch_norm``, ``layer_norm``, ``standardize`` and ``embedding``.

They read the layers' documented members only: batch_norm's ``eps``, ``params`` ``gamma``
and ``beta`` and ``state`` ``running_mean`` and ``running_var`` (statistics over every
axis but the last); layer_norm's ``eps`` and ``gamma`` and ``beta`` (over the last axis);
embedding's ``weights`` (input_dim, output_dim), looked up by indices given as numbers of
any dtype; standardize's ``state`` ``mean`` and its ``scale_factor`` (the one rule for
features that do not vary).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from nnframe.contracts import Converter

if TYPE_CHECKING:
    from nnframe.onnx.graph import GraphBuilder


@attrs.define(eq=False)
class BatchNormConverter(Converter):
    """Converts batch_norm at inference: ONNX BatchNormalization with the running
    statistics, its features moved to axis 1 and back for samples with several axes."""

    def convert(self, layer: Any, x: str, graph: GraphBuilder) -> str:
        rank = 1 + len(graph.sample_shape(x) or (0,))
        inputs = [graph.constant(layer.params["gamma"], "gamma"),
                  graph.constant(layer.params["beta"], "beta"),
                  graph.constant(layer.state["running_mean"], "running_mean"),
                  graph.constant(layer.state["running_var"], "running_var")]
        epsilon = float(layer.eps)
        if rank == 2:
            return graph.node("BatchNormalization", [x, *inputs], epsilon=epsilon)
        # (N, ..., C) -> (N, C, ...): after conv2d this undoes its transpose back to NHWC
        first = [0, rank - 1, *range(1, rank - 1)]
        last = [0, *range(2, rank), 1]
        y = graph.node("BatchNormalization", [graph.transpose(x, first), *inputs],
                       epsilon=epsilon)
        return graph.transpose(y, last)


@attrs.define(eq=False)
class LayerNormConverter(Converter):
    """Converts layer_norm: ONNX LayerNormalization over the last axis."""

    def convert(self, layer: Any, x: str, graph: GraphBuilder) -> str:
        return graph.node("LayerNormalization",
                          [x, graph.constant(layer.params["gamma"], "gamma"),
                           graph.constant(layer.params["beta"], "beta")],
                          axis=-1, epsilon=float(layer.eps))


@attrs.define(eq=False)
class StandardizeConverter(Converter):
    """Converts standardize: (x - mean) * scale, with the fitted statistics as constants
    broadcast over the last axis."""

    def convert(self, layer: Any, x: str, graph: GraphBuilder) -> str:
        import numpy as np

        centred = graph.node("Sub", [x, graph.constant(layer.state["mean"], "mean")])
        return graph.node("Mul", [centred, graph.constant(layer.scale_factor(np.float32),
                                                          "scale")])


@attrs.define(eq=False)
class EmbeddingConverter(Converter):
    """Converts embedding: the float indices cast to int64, then Gather rows of weights.

    Indices outside [0, input_dim) or not whole are the runtime's to refuse or truncate:
    nnframe checks them, an ONNX graph does not.
    """

    def convert(self, layer: Any, x: str, graph: GraphBuilder) -> str:
        from onnx import TensorProto

        indices = graph.node("Cast", [x], to=TensorProto.INT64)
        return graph.node("Gather", [graph.constant(layer.params["weights"], "weights"),
                                     indices], axis=0)
