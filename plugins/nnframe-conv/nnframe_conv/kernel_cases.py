"""The conv kernels' `KernelSpec`\\ s, which the plugin declares: what the kit checks a
faster version of ``maxpool2d_backward``, ``im2col`` and ``col2im`` on (edge shapes, each
a case; the arrays are made by `nnframe_conv.kernels`). Plain Python: declaring them at
registration imports neither NumPy nor the kernels.
"""

from __future__ import annotations

from nnframe.speed.kernels import KernelCase, KernelSpec

#: label -> (batch, height, width, channels, pool, stride, dilation, integer values: ties)
POOL_CASES: dict[str, tuple] = {
    "pool 2, the cnn's": (3, 8, 8, 4, (2, 2), (2, 2), (1, 1), False),
    "batch 1, odd size": (1, 7, 5, 3, (2, 2), (2, 2), (1, 1), False),
    "pool 3 stride 2, overlapping": (2, 7, 6, 2, (3, 3), (2, 2), (1, 1), False),
    "stride > pool": (2, 9, 8, 3, (2, 2), (3, 4), (1, 1), False),
    "dilation 2, 2x3 pool": (2, 8, 9, 2, (2, 3), (1, 2), (2, 2), False),
    "ties: the first in row-major order": (2, 6, 6, 3, (3, 3), (1, 1), (1, 1), True),
}
#: label -> (batch, padded height, padded width, channels, kernel, stride, dilation); one
#: channel is the other layout of the window matrix
IM2COL_CASES: dict[str, tuple] = {
    "3x3, the cnn's first conv, one channel": (2, 28, 28, 1, (3, 3), (1, 1), (1, 1)),
    "3x3, the cnn's second conv": (2, 13, 13, 8, (3, 3), (1, 1), (1, 1)),
    "batch 1, one channel, odd": (1, 7, 5, 1, (3, 2), (1, 1), (1, 1)),
    "batch 1, odd": (1, 7, 5, 3, (2, 3), (1, 1), (1, 1)),
    "stride 2, one channel": (2, 9, 8, 1, (3, 3), (2, 2), (1, 1)),
    "stride > kernel": (2, 10, 11, 2, (2, 2), (3, 4), (1, 1)),
    "dilation 2, one channel": (2, 9, 9, 1, (2, 3), (1, 2), (2, 2)),
    "stride and dilation down the rows only, one channel": (2, 11, 8, 1, (3, 2), (2, 1),
                                                            (2, 1)),
    "dilation 2": (2, 9, 9, 2, (2, 3), (1, 2), (2, 2)),
}
#: label -> (batch, padded height, padded width, channels, kernel, stride, dilation)
COL2IM_CASES: dict[str, tuple] = {
    "3x3, the cnn's": (2, 13, 13, 8, (3, 3), (1, 1), (1, 1)),
    "batch 1, one channel, odd": (1, 7, 5, 1, (3, 2), (1, 1), (1, 1)),
    "stride 2, overlapping": (2, 9, 8, 3, (3, 3), (2, 2), (1, 1)),
    "stride > kernel": (2, 10, 11, 2, (2, 2), (3, 4), (1, 1)),
    "dilation 2": (2, 9, 9, 2, (2, 3), (1, 2), (2, 2)),
}

_MODULE = "nnframe_conv.kernels"
SPECS: tuple[KernelSpec, ...] = (
    KernelSpec("maxpool2d_backward", f"{_MODULE}:maxpool2d_backward", tuple(
        KernelCase(label, ("x", "y", "grad_output", "grad_input"), steps=1,
                   make=f"{_MODULE}:pool_arguments") for label in POOL_CASES)),
    KernelSpec("im2col", f"{_MODULE}:im2col", tuple(
        KernelCase(label, ("padded", "patches"), steps=1,
                   make=f"{_MODULE}:im2col_arguments") for label in IM2COL_CASES)),
    KernelSpec("col2im", f"{_MODULE}:col2im", tuple(
        KernelCase(label, ("dcols", "grad_input"), steps=1,
                   make=f"{_MODULE}:col2im_arguments") for label in COL2IM_CASES)),
)
"""The conv layers' kernels."""
