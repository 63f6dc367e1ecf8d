"""The example plugin's ONNX converter, registered lazily as
``"nnframe_example.converters:AffineConverter"``; it imports nothing of onnx."""

import attrs

import nnframe


@attrs.define(eq=False)
class AffineConverter(nnframe.Converter):
    """Converts affine: Mul by scale, then Add shift (broadcast over the last axis)."""

    def convert(self, layer, x, graph):
        scaled = graph.node("Mul", [x, graph.constant(layer.params["scale"], "scale")])
        return graph.node("Add", [scaled, graph.constant(layer.params["shift"], "shift")])
