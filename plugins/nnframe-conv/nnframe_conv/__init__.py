"""nnframe-conv: convolution and pooling layers for nnframe, on channels-last images.

Installed, it registers ``conv2d``, ``maxpool2d`` and ``avgpool2d`` through nnframe's
``register_layers`` hook (entry point group ``nnframe``); build them with
``nnframe.layer("conv2d", 8, 3)`` or import the classes from here.
"""

from nnframe_conv._version import __version__
from nnframe_conv.avgpool2d import AvgPool2D
from nnframe_conv.conv2d import Conv2D
from nnframe_conv.maxpool2d import MaxPool2D

__all__ = ["AvgPool2D", "Conv2D", "MaxPool2D", "__version__"]
