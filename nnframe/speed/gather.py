"""`BatchGather`: a shuffled batch's samples copied into buffers reused from batch to batch.

Fancy indexing (``x[index]``) allocates a new batch every step; for large inputs the
allocator and the page faults of fresh arrays cost more than the copy itself. The trainer
gathers each batch with ``take(..., out=...)`` into two (or three) arrays made once.
"""

from __future__ import annotations

import numpy as np


class BatchGather:
    """Shuffled batches copied into buffers reused from batch to batch (the samples'
    weights too, when they have some)."""

    def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int,
                 weights: np.ndarray | None = None) -> None:
        size = min(batch_size, len(x))
        self.x, self.y, self.weights = x, y, weights
        self.x_batch = np.empty((size, *x.shape[1:]), x.dtype)
        self.y_batch = np.empty((size, *y.shape[1:]), y.dtype)
        self.w_batch = None if weights is None else np.empty(size, weights.dtype)

    def __call__(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        size = len(index)
        # mode="clip": the indices are valid, and "raise" would copy through a buffer
        xb = self.x.take(index, axis=0, out=self.x_batch[:size], mode="clip")
        yb = self.y.take(index, axis=0, out=self.y_batch[:size], mode="clip")
        if self.weights is not None:
            self.weights.take(index, out=self.w_batch[:size], mode="clip")
        return xb, yb

    def weights_of(self, size: int) -> np.ndarray | None:
        """The weights of the batch last gathered (None without weights)."""
        return None if self.w_batch is None else self.w_batch[:size]
