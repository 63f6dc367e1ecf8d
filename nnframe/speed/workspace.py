"""`Workspace`: a layer's work arrays, kept between batches of the same shape.

A layer that needs large scratch arrays in forward or backward (padded images, gate
pre-activations, the rows of an unrolled convolution) asks its workspace for them by name
instead of allocating them each batch: the allocator and the page faults of fresh large
arrays cost more than the arithmetic on them for many layers. Only for arrays that never
leave the layer: an array handed back to the caller must be fresh.
"""

from __future__ import annotations

import attrs
import numpy as np


@attrs.define
class Workspace:
    """Named work arrays, reused while the shape and dtype asked for stay the same."""

    _arrays: dict[str, np.ndarray] = attrs.field(factory=dict)

    def get(self, name: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        """An uninitialised array of ``shape`` and ``dtype``, reused when they match."""
        array = self._arrays.get(name)
        if array is None or array.shape != shape or array.dtype != dtype:
            array = self._arrays[name] = np.empty(shape, dtype)
        return array

    def zeros(self, name: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        """`get`, filled with zeros."""
        array = self.get(name, shape, dtype)
        array.fill(0)
        return array

    def constant(self, name: str, shape: tuple[int, ...], dtype: np.dtype,
                 value: float) -> np.ndarray:
        """An array filled with ``value`` when it is created, then reused as it is: for
        constants, and for zero borders that are never written."""
        array = self._arrays.get(name)
        if array is None or array.shape != shape or array.dtype != dtype:
            array = self._arrays[name] = np.full(shape, value, dtype)
        return array

    def clear(self) -> None:
        """Forget every array (a layer does this when it is rebuilt or saved)."""
        self._arrays.clear()
