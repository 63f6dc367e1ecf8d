"""MNIST from the standard IDX files in ``<data dir>/mnist/``."""

from __future__ import annotations

import os

import numpy as np

from nnframe.datasets import paths
from nnframe.datasets.idx import read_idx
from nnframe.errors import DataError

FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def mnist(split: str = "train", data_dir: str | os.PathLike | None = None
          ) -> tuple[np.ndarray, np.ndarray]:
    """Images as float32 in [0, 1] shaped (N, 28, 28, 1) and integer labels (N,)."""
    if split not in FILES:
        raise DataError(f"unknown MNIST split {split!r}; use 'train' or 'test'")
    folder = paths.data_dir(data_dir) / "mnist"
    arrays = []
    for stem in FILES[split]:
        candidates = [folder / f"{stem}.gz", folder / stem]
        path = next((p for p in candidates if p.exists()), None)
        if path is None:
            raise DataError(f"MNIST file {stem}(.gz) not found in {folder}; set "
                            f"{paths.DATA_DIR_ENV} to the directory that holds mnist/")
        arrays.append(read_idx(path))
    images, labels = arrays
    images = (images.astype(np.float32) / np.float32(255.0))[..., np.newaxis]
    return images, labels.astype(np.int64)
