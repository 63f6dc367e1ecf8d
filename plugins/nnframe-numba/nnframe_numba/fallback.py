"""When a compiled kernel hands its call to the NumPy reference of the same name: the
dtypes it compiles for, and the reference itself, imported only when it is needed."""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

#: the dtypes the kernels compile for (the forward recurrent steps: float32 alone)
FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
FLOAT32 = (np.dtype(np.float32),)


def same_dtype(dtypes: tuple[np.dtype, ...], *arrays: np.ndarray) -> bool:
    """Whether the arrays share one dtype, among ``dtypes``: else the reference runs."""
    dtype = arrays[0].dtype
    return dtype in dtypes and all(a.dtype == dtype for a in arrays)


def reference(module: str, name: str) -> Any:
    """The NumPy reference ``name`` of ``module`` (`nnframe_conv.kernels`, ...)."""
    return getattr(importlib.import_module(module), name)
