"""`nnframe.speed.workspace.Workspace`: scratch arrays reused only while shape and dtype match."""

from __future__ import annotations

import numpy as np

from nnframe.speed.workspace import Workspace


def test_an_array_is_reused_for_the_same_shape_and_dtype_only():
    work = Workspace()
    first = work.get("a", (3, 4), np.dtype(np.float32))
    assert work.get("a", (3, 4), np.dtype(np.float32)) is first
    assert work.get("b", (3, 4), np.dtype(np.float32)) is not first
    resized = work.get("a", (2, 4), np.dtype(np.float32))
    assert resized is not first and resized.shape == (2, 4)
    retyped = work.get("a", (2, 4), np.dtype(np.float64))
    assert retyped is not resized and retyped.dtype == np.float64


def test_zeros_clears_a_reused_array_and_constant_keeps_its_contents():
    work = Workspace()
    dirty = work.zeros("z", (5,), np.dtype(np.float32))
    dirty[:] = 7
    assert not work.zeros("z", (5,), np.dtype(np.float32)).any()
    border = work.constant("c", (2, 2), np.dtype(np.float32), 1.5)
    border[0, 0] = 9  # a reused constant is handed back as it is, by design
    assert work.constant("c", (2, 2), np.dtype(np.float32), 1.5) is border
    work.clear()
    assert (work.constant("c", (2, 2), np.dtype(np.float32), 1.5) == 1.5).all()
