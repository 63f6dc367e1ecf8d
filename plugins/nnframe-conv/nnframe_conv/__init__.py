"""nnframe-conv: convolution and pooling layers for nnframe, on channels-last images.

Installed, it registers ``conv2d``, ``maxpool2d`` and ``avgpool2d`` through nnframe's
``register_layers`` hook (entry point group ``nnframe``); build them with
``nnframe.layer("conv2d", 8, 3)`` or import the classes from here. The classes are
imported on first use, so that loading the plugin (``nnframe list``) stays cheap.
"""

from typing import TYPE_CHECKING

from nnframe_conv._version import __version__

_LAZY = {
    "AvgPool2D": "nnframe_conv.avgpool2d",
    "Conv2D": "nnframe_conv.conv2d",
    "MaxPool2D": "nnframe_conv.maxpool2d",
}

if TYPE_CHECKING:
    from nnframe_conv.avgpool2d import AvgPool2D
    from nnframe_conv.conv2d import Conv2D
    from nnframe_conv.maxpool2d import MaxPool2D

__all__ = ["AvgPool2D", "Conv2D", "MaxPool2D", "__version__"]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'nnframe_conv' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
