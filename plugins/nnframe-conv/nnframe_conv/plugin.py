"""The nnframe plugin module (entry point ``conv`` of the group ``nnframe``).

The layers and their ONNX converters are named as ``"module:Class"``, so that listing
components imports none of them (nor NumPy); each module is imported when first used.
"""

from __future__ import annotations

import nnframe


@nnframe.hookimpl
def register_layers(register) -> None:
    register("conv2d", "nnframe_conv.conv2d:Conv2D")
    register("maxpool2d", "nnframe_conv.maxpool2d:MaxPool2D")
    register("avgpool2d", "nnframe_conv.avgpool2d:AvgPool2D")
    register("conv1d", "nnframe_conv.conv1d:Conv1D")
    register("separable_conv2d", "nnframe_conv.separable:SeparableConv2D")
    register("global_avg_pool", "nnframe_conv.global_pooling:GlobalAvgPool")
    register("global_max_pool", "nnframe_conv.global_pooling:GlobalMaxPool")
    register("adaptive_avg_pool2d", "nnframe_conv.adaptive_pooling:AdaptiveAvgPool2D")
    register("adaptive_max_pool2d", "nnframe_conv.adaptive_pooling:AdaptiveMaxPool2D")


@nnframe.hookimpl
def register_converters(register) -> None:
    register("conv2d", "nnframe_conv.converters:Conv2DConverter")
    register("maxpool2d", "nnframe_conv.converters:MaxPool2DConverter")
    register("avgpool2d", "nnframe_conv.converters:AvgPool2DConverter")
    register("conv1d", "nnframe_conv.converters:Conv1DConverter")
    register("separable_conv2d", "nnframe_conv.converters:SeparableConv2DConverter")
    register("global_avg_pool", "nnframe_conv.converters:GlobalAvgPoolConverter")
    register("global_max_pool", "nnframe_conv.converters:GlobalMaxPoolConverter")
    register("adaptive_avg_pool2d", "nnframe_conv.converters:AdaptiveAvgPool2DConverter")
    register("adaptive_max_pool2d", "nnframe_conv.converters:AdaptiveMaxPool2DConverter")


@nnframe.hookimpl
def register_kernels(register) -> None:
    # The layers' own named kernels: their specs (what the kit checks a faster version
    # on), then the NumPy references; nnframe-numba registers compiled ones.
    from nnframe.speed.kernels import declare
    from nnframe_conv.kernel_cases import SPECS

    for spec in SPECS:
        declare(spec)
        register(spec.name, spec.reference)
