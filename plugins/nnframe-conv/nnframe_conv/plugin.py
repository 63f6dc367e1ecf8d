"""The nnframe plugin module (entry point ``conv`` of the group ``nnframe``)."""

from __future__ import annotations

import nnframe
from nnframe_conv.avgpool2d import AvgPool2D
from nnframe_conv.conv2d import Conv2D
from nnframe_conv.maxpool2d import MaxPool2D


@nnframe.hookimpl
def register_layers(register) -> None:
    register("conv2d", Conv2D)
    register("maxpool2d", MaxPool2D)
    register("avgpool2d", AvgPool2D)
