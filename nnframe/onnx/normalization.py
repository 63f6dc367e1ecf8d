"""ONNX converters for ``batch_norm``, ``layer_norm``, ``standardize`` and ``embedding``.

They read the layers' documented members only: batch_norm's ``eps``, ``params`` ``gamma``
and ``beta`` (when it has them) and ``state`` ``running_mean`` and ``running_var`` (when
it keeps them; statistics over every axis but the last); layer_norm's ``eps``, ``axes``
and ``gamma`` and ``beta`` (over the last ``axes`` axes, when it has them);
embedding's ``weights`` (input_dim, output_dim), looked up by indices given as numbers of
any dtype; standardize's ``state`` ``mean`` and its ``scale_factor`` (the one rule for
features that do not vary).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from nnframe.onnx.contract import Converter

if TYPE_CHECKING:
    from nnframe.onnx.graph import GraphBuilder


def _gamma_beta(layer: Any, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The layer's ``gamma`` and ``beta``; ones and zeros of ``shape`` for a layer
    without affine parameters."""
    if "gamma" in layer.params:
        return layer.params["gamma"], layer.params["beta"]
    return np.ones(shape, np.float32), np.zeros(shape, np.float32)


def _reduce_mean(graph: GraphBuilder, x: str, axes: list[int]) -> str:
    """ReduceMean over ``axes``, kept: axes are an attribute before opset 18, an input
    from it on."""
    if graph.opset >= 18:
        return graph.node("ReduceMean", [x, graph.constant(np.array(axes), "axes")],
                          keepdims=1)
    return graph.node("ReduceMean", [x], axes=axes, keepdims=1)


@attrs.define(eq=False)
class BatchNormConverter(Converter):
    """Converts batch_norm at inference: ONNX BatchNormalization with the running
    statistics, its features moved to axis 1 and back for samples with several axes.
    Without running statistics (``track_running_stats=False``) the batch's own, as the
    layer does: ReduceMean over every axis but the last, then the formula."""

    def convert(self, layer: Any, x: str, graph: GraphBuilder) -> str:
        rank = 1 + len(graph.sample_shape(x) or (0,))
        features = (graph.sample_shape(x) or (0,))[-1]
        gamma, beta = _gamma_beta(layer, (features,))
        if "running_mean" not in layer.state:
            return self._batch_statistics(layer, x, graph, rank, gamma, beta)
        inputs = [graph.constant(gamma, "gamma"),
                  graph.constant(beta, "beta"),
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

    @staticmethod
    def _batch_statistics(layer: Any, x: str, graph: GraphBuilder, rank: int,
                          gamma: np.ndarray, beta: np.ndarray) -> str:
        """(x - mean) / sqrt(var + eps) * gamma + beta with the batch's mean and biased
        variance over every axis but the last."""
        axes = list(range(rank - 1))
        centred = graph.node("Sub", [x, _reduce_mean(graph, x, axes)])
        var = _reduce_mean(graph, graph.node("Mul", [centred, centred]), axes)
        std = graph.node("Sqrt", [graph.node("Add", [var, graph.constant(float(layer.eps),
                                                                          "eps")])])
        y = graph.node("Mul", [graph.node("Div", [centred, std]),
                               graph.constant(gamma, "gamma")])
        return graph.node("Add", [y, graph.constant(beta, "beta")])


@attrs.define(eq=False)
class LayerNormConverter(Converter):
    """Converts layer_norm: ONNX LayerNormalization over the last axis, or the last
    ``axes`` axes; ones and zeros as scale and bias without affine parameters."""

    def convert(self, layer: Any, x: str, graph: GraphBuilder) -> str:
        axes = int(getattr(layer, "axes", 1))
        shape = tuple((graph.sample_shape(x) or ())[-axes:])
        gamma, beta = _gamma_beta(layer, shape)
        return graph.node("LayerNormalization",
                          [x, graph.constant(gamma, "gamma"), graph.constant(beta, "beta")],
                          axis=-axes, epsilon=float(layer.eps))


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
