"""Writing the CLI's output arrays atomically (beside the target, then renamed)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import numpy as np

from nnframe.errors import NNFrameError


def save_npy(path: Path, array: np.ndarray) -> Path:
    """Write ``array`` as a .npy file at ``path``; a failure leaves no partial file."""
    path = Path(path)
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp",
                                             dir=path.parent)
        try:
            with os.fdopen(handle, "wb") as file:
                np.save(file, array, allow_pickle=False)
            os.replace(temporary, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
    except OSError as exc:
        raise NNFrameError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path
