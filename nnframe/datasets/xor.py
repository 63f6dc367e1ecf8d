"""The four XOR samples of the classic from-scratch demo."""

from __future__ import annotations

import numpy as np


def xor(dtype: str = "float32") -> tuple[np.ndarray, np.ndarray]:
    """Inputs (4, 2) and targets (4, 1) of the XOR truth table."""
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=dtype)
    y = np.array([[0], [1], [1], [0]], dtype=dtype)
    return x, y
