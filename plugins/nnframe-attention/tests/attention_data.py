"""Batches of sequences with a padding-mask channel, shared by the nnframe-attention tests
(a module of its own name, so that no other test folder's conftest can shadow it)."""

from __future__ import annotations

import numpy as np


def keep_mask(n: int, time: int) -> np.ndarray:
    """(n, time) booleans: the first sample whole, the others padded after 3, 1, 4, ...
    steps, and (with n >= 4) one sample that is all padding."""
    keep = np.ones((n, time), bool)
    lengths = [time, 3, 1, 0, 4, 2]
    for i in range(1, n):
        keep[i, lengths[i % len(lengths)]:] = False
    return keep


def with_mask_channel(x: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """``x`` (N, time, F) with the mask as channel F: 1.0 real, 0.0 padding."""
    return np.concatenate([x, keep[..., None].astype(x.dtype)], axis=-1)
