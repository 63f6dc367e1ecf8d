"""Depthwise-separable 2-D convolution: a depthwise conv2d, then a 1x1 one.

Each input channel is convolved with its own ``depth_multiplier`` kernels (a grouped
conv2d with ``groups`` = channels, no bias), then a pointwise (1x1) conv2d mixes the
channels into ``filters`` (Keras' SeparableConv2D; in PyTorch, ``nn.Conv2d(C, C * m, k,
groups=C, bias=False)`` followed by ``nn.Conv2d(C * m, filters, 1)``). About
``k * k + filters`` weights per channel instead of ``k * k * filters``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs
import numpy as np

import nnframe
from nnframe.checks.arguments import positive_int, to_int
from nnframe.core.contracts.initializer import check_init
from nnframe_conv.conv2d import Conv2D, _check_bool, _check_padding_mode
from nnframe_conv.windows import (
    Pair,
    check_padding,
    image_shape,
    positive_pair,
    to_padding,
    to_pair,
)

#: this layer's parameter name -> (inner layer, its parameter name)
PARTS = {"depthwise_weights": ("depthwise", "weights"),
         "pointwise_weights": ("pointwise", "weights"),
         "bias": ("pointwise", "bias")}


@attrs.define(eq=False)
class SeparableConv2D(nnframe.Layer):
    """Depthwise-separable convolution, channels-last: (N, H, W, C) -> (N, H', W', filters).

    ``kernel_size``, ``stride``, ``padding``, ``dilation`` and ``padding_mode`` belong to the
    depthwise step and mean what they mean in conv2d; ``depth_multiplier`` kernels per
    input channel; ``use_bias`` (PyTorch's ``bias``) adds a bias after the pointwise step.
    ``depthwise_weights`` (kernel_h, kernel_w, 1, C * depth_multiplier),
    ``pointwise_weights`` (1, 1, C * depth_multiplier, filters), ``bias`` (filters,).
    """

    layer_name: ClassVar[str] = "separable_conv2d"
    check_hints: ClassVar[dict] = {
        "config": {"filters": 3, "kernel_size": 3, "depth_multiplier": 2, "padding": "same"},
        "input_shape": (5, 6, 2),
    }

    filters: int = attrs.field(converter=to_int, validator=positive_int)
    kernel_size: Pair = attrs.field(converter=to_pair, validator=positive_pair)
    stride: Pair = attrs.field(default=1, converter=to_pair, validator=positive_pair)
    padding: str | Pair = attrs.field(default="valid", converter=to_padding,
                                      validator=check_padding)
    depth_multiplier: int = attrs.field(default=1, converter=to_int, validator=positive_int)
    init: str = attrs.field(default="glorot_uniform", validator=check_init)
    dilation: Pair = attrs.field(default=1, converter=to_pair, validator=positive_pair)
    padding_mode: str = attrs.field(default="zeros", validator=_check_padding_mode)
    use_bias: bool = attrs.field(default=True, validator=_check_bool)
    _inner: dict[str, Conv2D] = attrs.field(init=False, factory=dict, repr=False)

    def _layers(self, channels: int) -> dict[str, Conv2D]:
        """The two inner conv2d layers for ``channels`` input channels."""
        depthwise = Conv2D(channels * self.depth_multiplier, self.kernel_size, self.stride,
                           self.padding, self.init, self.dilation, channels,
                           self.padding_mode, use_bias=False)
        pointwise = Conv2D(self.filters, 1, init=self.init, use_bias=self.use_bias)
        return {"depthwise": depthwise, "pointwise": pointwise}

    def _shapes(self, input_shape: tuple[int, ...]) -> tuple[dict[str, Conv2D], list[Any]]:
        """The inner layers and their input shapes."""
        channels = image_shape(self.layer_name, input_shape)[2]
        layers = self._layers(channels)
        middle = layers["depthwise"].output_shape(input_shape)
        return layers, [tuple(input_shape), middle]

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        layers, (_, middle) = self._shapes(input_shape)
        return layers["pointwise"].output_shape(middle)

    def parameter_shapes(self, input_shape: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
        layers, shapes = self._shapes(input_shape)
        inner = {"depthwise": layers["depthwise"].parameter_shapes(shapes[0]),
                 "pointwise": layers["pointwise"].parameter_shapes(shapes[1])}
        return {name: inner[layer][key] for name, (layer, key) in PARTS.items()
                if key in inner[layer]}

    def build(self, input_shape: tuple[int, ...], rng: np.random.Generator,
              dtype: np.dtype) -> None:
        layers, shapes = self._shapes(input_shape)
        layers["depthwise"].build(shapes[0], rng, dtype)
        layers["pointwise"].build(shapes[1], rng, dtype)
        self._inner = layers
        self.params = {name: layers[layer].params[key] for name, (layer, key) in PARTS.items()
                       if key in layers[layer].params}
        self.grads = {name: np.zeros_like(value) for name, value in self.params.items()}

    def _bind(self) -> tuple[Conv2D, Conv2D]:
        """The inner layers on this layer's arrays (a network may have moved them into its
        buffers since build)."""
        for name, (layer, key) in PARTS.items():
            if name in self.params:
                self._inner[layer].params[key] = self.params[name]
                self._inner[layer].grads[key] = self.grads[name]
        return self._inner["depthwise"], self._inner["pointwise"]

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        depthwise, pointwise = self._bind()
        return pointwise.forward(depthwise.forward(x, training), training)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        depthwise, pointwise = self._bind()
        return depthwise.backward(pointwise.backward(grad_output))

    def backward_parameters(self, grad_output: np.ndarray) -> None:
        depthwise, pointwise = self._bind()
        depthwise.backward_parameters(pointwise.backward(grad_output))
