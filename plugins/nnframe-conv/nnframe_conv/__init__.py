"""nnframe-conv: convolution and pooling layers for nnframe, on channels-last images.

Installed, it registers ``conv2d``, ``conv1d``, ``separable_conv2d``, ``maxpool2d``,
``avgpool2d``, ``global_avg_pool``, ``global_max_pool``, ``adaptive_avg_pool2d`` and
``adaptive_max_pool2d`` through nnframe's
``register_layers`` hook (entry point group ``nnframe``); build them with
``nnframe.layer("conv2d", 8, 3)`` or import the classes from here. The classes are
imported on first use, so that loading the plugin (``nnframe list``) stays cheap.
"""

from typing import TYPE_CHECKING

from nnframe_conv._version import __version__

_LAZY = {
    "AdaptiveAvgPool2D": "nnframe_conv.adaptive_pooling",
    "AdaptiveMaxPool2D": "nnframe_conv.adaptive_pooling",
    "AvgPool2D": "nnframe_conv.avgpool2d",
    "Conv1D": "nnframe_conv.conv1d",
    "Conv2D": "nnframe_conv.conv2d",
    "GlobalAvgPool": "nnframe_conv.global_pooling",
    "GlobalMaxPool": "nnframe_conv.global_pooling",
    "MaxPool2D": "nnframe_conv.maxpool2d",
    "SeparableConv2D": "nnframe_conv.separable",
}

if TYPE_CHECKING:
    from nnframe_conv.adaptive_pooling import AdaptiveAvgPool2D, AdaptiveMaxPool2D
    from nnframe_conv.avgpool2d import AvgPool2D
    from nnframe_conv.conv1d import Conv1D
    from nnframe_conv.conv2d import Conv2D
    from nnframe_conv.global_pooling import GlobalAvgPool, GlobalMaxPool
    from nnframe_conv.maxpool2d import MaxPool2D
    from nnframe_conv.separable import SeparableConv2D

__all__ = ["AdaptiveAvgPool2D", "AdaptiveMaxPool2D", "AvgPool2D", "Conv1D", "Conv2D",
           "GlobalAvgPool", "GlobalMaxPool", "MaxPool2D", "SeparableConv2D", "__version__"]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'nnframe_conv' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
