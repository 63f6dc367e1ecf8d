"""ONNX converters for the layers of nnframe-conv (``nnframe export``).

nnframe's images are channels-last, (N, H, W, C); ONNX's Conv, MaxPool and AveragePool
want channels-first, (N, C, H, W). Each converter transposes its input to NCHW and its
output back to NHWC; the graph builder cancels a transpose that undoes the one before,
so a run of conv and pooling layers stays NCHW inside the graph and pays for one transpose
at each end. The padding is nnframe's own (`windows.sliding_axis`): "same" pads
``total // 2`` before and the rest after, which ONNX takes as explicit pads. A padding
mode other than zeros becomes two Gathers by the layer's own index arrays (which input
cell each padded cell copies, `padding.sources`): ONNX's Pad has no circular mode before
opset 19. Nothing here imports onnx: the graph builder does, when a network is exported.
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs
import numpy as np

import nnframe
from nnframe_conv.padding import sources

#: (N, H, W, C) -> (N, C, H, W), and back.
TO_CHANNELS_FIRST = (0, 3, 1, 2)
TO_CHANNELS_LAST = (0, 2, 3, 1)


def _image_shape(layer: Any, x: str, graph: Any) -> tuple[int, int, int]:
    shape = graph.sample_shape(x)
    if shape is None or len(shape) != 3:
        raise nnframe.ExportError(f"{layer.layer_name} needs channels-last images (H, W, C) "
                                  f"as input, got samples of shape {shape}")
    return shape


@attrs.define(eq=False)
class Conv2DConverter(nnframe.Converter):
    """Converts conv2d: ONNX Conv on NCHW with nnframe's padding, weights as (filters,
    in_channels, kernel_h, kernel_w)."""

    def convert(self, layer: Any, x: str, graph: Any) -> str:
        height, width, _ = _image_shape(layer, x, graph)
        rows, cols = layer._axes(height, width)
        inputs = [graph.transpose(x, TO_CHANNELS_FIRST),
                  graph.constant(layer.params["weights"].transpose(3, 2, 0, 1), "weights")]
        if layer.use_bias:
            inputs.append(graph.constant(layer.params["bias"], "bias"))
        pads = [rows.pad_before, cols.pad_before, rows.pad_after, cols.pad_after]
        if layer.padding_mode != "zeros" and any(pads):
            for axis, geometry in ((2, rows), (3, cols)):
                index = sources(geometry.size, geometry.pad_before, geometry.pad_after,
                                layer.padding_mode)
                inputs[0] = graph.node("Gather", [inputs[0], graph.constant(index, "cells")],
                                       axis=axis)
            pads = [0, 0, 0, 0]
        y = graph.node("Conv", inputs, kernel_shape=list(layer.kernel_size),
                       strides=list(layer.stride), dilations=list(layer.dilation),
                       group=int(layer.groups), pads=pads)
        return graph.transpose(y, TO_CHANNELS_LAST)


@attrs.define(eq=False)
class _PoolConverter(nnframe.Converter):
    op_type: ClassVar[str] = ""

    def attributes(self, layer: Any) -> dict[str, Any]:
        return {}

    def convert(self, layer: Any, x: str, graph: Any) -> str:
        height, width, _ = _image_shape(layer, x, graph)
        rows, cols = layer._axes(height, width)
        # Floor (ceil_mode 0): a last partial window is dropped, as here.
        y = graph.node(self.op_type, [graph.transpose(x, TO_CHANNELS_FIRST)],
                       kernel_shape=list(layer.pool_size), strides=list(layer.strides),
                       pads=[rows.pad_before, cols.pad_before, rows.pad_after,
                             cols.pad_after], **self.attributes(layer))
        return graph.transpose(y, TO_CHANNELS_LAST)


@attrs.define(eq=False)
class MaxPool2DConverter(_PoolConverter):
    """Converts maxpool2d: ONNX MaxPool on NCHW (its padding never wins, as here),
    partial windows dropped."""

    op_type: ClassVar[str] = "MaxPool"

    def attributes(self, layer: Any) -> dict[str, Any]:
        return {"dilations": list(layer.dilation)}


@attrs.define(eq=False)
class AvgPool2DConverter(_PoolConverter):
    """Converts avgpool2d: ONNX AveragePool on NCHW with the layer's count_include_pad,
    partial windows dropped."""

    op_type: ClassVar[str] = "AveragePool"

    def attributes(self, layer: Any) -> dict[str, Any]:
        counted = layer.count_include_pad or layer.divisor_override is not None
        return {"count_include_pad": int(counted)}

    def convert(self, layer: Any, x: str, graph: Any) -> str:
        y = super().convert(layer, x, graph)
        if layer.divisor_override is None:
            return y
        # the mean over the whole pool, times pool area / divisor: the sum / divisor
        area = layer.pool_size[0] * layer.pool_size[1]
        scale = graph.constant(np.array(area / layer.divisor_override), "scale")
        return graph.node("Mul", [y, scale])


@attrs.define(eq=False)
class Conv1DConverter(nnframe.Converter):
    """Converts conv1d: ONNX Conv on (N, C, time), weights as (filters, in_channels /
    groups, kernel_size); other padding modes as one Gather, as for conv2d."""

    def convert(self, layer: Any, x: str, graph: Any) -> str:
        shape = graph.sample_shape(x)
        if shape is None or len(shape) != 2:
            raise nnframe.ExportError(f"{layer.layer_name} needs channels-last sequences "
                                      f"(time, C) as input, got samples of shape {shape}")
        _, steps = layer._conv._axes(1, shape[0])
        inputs = [graph.transpose(x, (0, 2, 1)),
                  graph.constant(layer.params["weights"].transpose(2, 1, 0), "weights")]
        if layer.use_bias:
            inputs.append(graph.constant(layer.params["bias"], "bias"))
        pads = [steps.pad_before, steps.pad_after]
        if layer.padding_mode != "zeros" and any(pads):
            index = sources(steps.size, steps.pad_before, steps.pad_after, layer.padding_mode)
            inputs[0] = graph.node("Gather", [inputs[0], graph.constant(index, "cells")],
                                   axis=2)
            pads = [0, 0]
        y = graph.node("Conv", inputs, kernel_shape=[layer.kernel_size],
                       strides=[layer.stride], dilations=[layer.dilation],
                       group=int(layer.groups), pads=pads)
        return graph.transpose(y, (0, 2, 1))


@attrs.define(eq=False)
class SeparableConv2DConverter(nnframe.Converter):
    """Converts separable_conv2d: the depthwise conv2d as conv2d converts, then a 1x1
    ONNX Conv, both on NCHW."""

    def convert(self, layer: Any, x: str, graph: Any) -> str:
        depthwise, pointwise = layer._bind()
        middle = Conv2DConverter().convert(depthwise, x, graph)
        inputs = [graph.transpose(middle, TO_CHANNELS_FIRST),
                  graph.constant(pointwise.params["weights"].transpose(3, 2, 0, 1),
                                 "pointwise_weights")]
        if layer.use_bias:
            inputs.append(graph.constant(pointwise.params["bias"], "bias"))
        y = graph.node("Conv", inputs, kernel_shape=[1, 1])
        return graph.transpose(y, TO_CHANNELS_LAST)


@attrs.define(eq=False)
class _GlobalPoolConverter(nnframe.Converter):
    op_type: ClassVar[str] = ""

    def convert(self, layer: Any, x: str, graph: Any) -> str:
        shape = graph.sample_shape(x)
        if shape is None or len(shape) < 2:
            raise nnframe.ExportError(f"{layer.layer_name} needs channels-last samples as "
                                      f"input, got samples of shape {shape}")
        axes = list(range(1, len(shape)))  # every axis between the batch and the channels
        if graph.opset >= 18:  # the axes became an input in opset 18
            return graph.node(self.op_type, [x, graph.constant(np.array(axes), "axes")],
                              keepdims=0)
        return graph.node(self.op_type, [x], axes=axes, keepdims=0)


@attrs.define(eq=False)
class GlobalAvgPoolConverter(_GlobalPoolConverter):
    """Converts global_avg_pool: ONNX ReduceMean over the positions."""

    op_type: ClassVar[str] = "ReduceMean"


@attrs.define(eq=False)
class GlobalMaxPoolConverter(_GlobalPoolConverter):
    """Converts global_max_pool: ONNX ReduceMax over the positions."""

    op_type: ClassVar[str] = "ReduceMax"


@attrs.define(eq=False)
class AdaptiveAvgPool2DConverter(nnframe.Converter):
    """Converts adaptive_avg_pool2d: the two averaging matrices as one ONNX Einsum over
    the channels-last images."""

    def convert(self, layer: Any, x: str, graph: Any) -> str:
        height, width, _ = _image_shape(layer, x, graph)
        rows, cols = layer._matrices(height, width, np.dtype("float32"))
        return graph.node("Einsum", [graph.constant(rows, "rows"), x,
                                     graph.constant(cols, "columns")],
                          equation="ih,nhwc,jw->nijc")


@attrs.define(eq=False)
class AdaptiveMaxPool2DConverter(nnframe.Converter):
    """Converts adaptive_max_pool2d: each output cell's window sliced and reduced with ONNX
    ReduceMax, the cells concatenated back into rows and columns."""

    def convert(self, layer: Any, x: str, graph: Any) -> str:
        height, width, _ = _image_shape(layer, x, graph)
        out_h, out_w = layer.sizes(height, width)
        axes = graph.constant(np.array([1, 2]), "axes")
        rows = []
        for i in range(out_h):
            cells = []
            for j in range(out_w):
                (_, _, r, c) = layer.cells(height, width)[i * out_w + j]
                window = graph.node("Slice", [x, graph.constant(np.array([r.start, c.start]),
                                                                "start"),
                                              graph.constant(np.array([r.stop, c.stop]), "stop"),
                                              axes])
                if graph.opset >= 18:
                    cells.append(graph.node("ReduceMax", [window, axes], keepdims=1))
                else:
                    cells.append(graph.node("ReduceMax", [window], axes=[1, 2], keepdims=1))
            rows.append(cells[0] if len(cells) == 1 else graph.node("Concat", cells, axis=2))
        return rows[0] if len(rows) == 1 else graph.node("Concat", rows, axis=1)
