"""Writing the CLI's output arrays atomically (beside the target, then renamed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nnframe.atomic import write_atomic
from nnframe.errors import NNFrameError


def save_npy(path: Path, array: np.ndarray) -> Path:
    """Write ``array`` as a .npy file at ``path``; a failure leaves no partial file."""
    try:
        return write_atomic(path, lambda file: np.save(file, array, allow_pickle=False))
    except OSError as exc:
        raise NNFrameError(f"cannot write {path}: {exc.strerror or exc}") from None
