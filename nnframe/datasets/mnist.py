"""MNIST from the standard IDX files in ``<data dir>/mnist/``, checked and downloaded if missing.

Every file is checked against the SHA-256 of its *decompressed* content
each time it is read, so a corrupt or truncated file is never silently trusted. Missing
files are fetched from the well-known public mirrors in turn (``NNFRAME_MNIST_MIRROR``, one
base URL or several separated by commas, replaces the list).

MNIST is by Yann LeCun, Corinna Cortes and Christopher J.C. Burges, and is available under
the terms of the Creative Commons Attribution-Share Alike 3.0 licence.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import numpy as np

from nnframe.datasets import download, paths
from nnframe.datasets.idx import read_bytes, read_idx_bytes
from nnframe.errors import DataError

FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

#: SHA-256 of each decompressed file.
SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

#: Bytes of each decompressed file: nothing read or downloaded may be larger.
SIZES = {
    "train-images-idx3-ubyte": 47_040_016,
    "train-labels-idx1-ubyte": 60_008,
    "t10k-images-idx3-ubyte": 7_840_016,
    "t10k-labels-idx1-ubyte": 10_008,
}

#: Public mirrors of the gzip files, tried in order.
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
MIRROR_ENV = "NNFRAME_MNIST_MIRROR"


def mirrors() -> list[str]:
    """Base URLs to download from: ``$NNFRAME_MNIST_MIRROR`` if set, else `MIRRORS`."""
    override = os.environ.get(MIRROR_ENV, "").strip()
    if override:
        return [url for url in re.split(r"[,\s]+", override) if url]
    return list(MIRRORS)


def max_download_size(stem: str) -> int:
    """The most bytes a mirror may send for ``stem``.gz: its decompressed size, plus what
    gzip adds when it cannot compress at all (5 bytes per 64 KiB block, a header), so any
    valid encoding fits and a mirror streaming without end is cut off."""
    size = SIZES[stem]
    return size + 5 * (size // 65_535 + 1) + 4096


def check_sha256(data: bytes, stem: str, source: str | os.PathLike | None = None) -> None:
    """Raise `DataError` unless ``data`` is the decompressed MNIST file ``stem``.

    With ``source``, the message names that file and says to delete it; without, it is
    about a download, which is discarded anyway.
    """
    digest = hashlib.sha256(data).hexdigest()
    if digest == SHA256[stem]:
        return
    found = f"the SHA-256 of its decompressed content is {digest}, expected {SHA256[stem]}"
    if source is None:
        raise DataError(f"it served something other than the MNIST file {stem}: {found}")
    raise DataError(f"{source} is corrupt or not the MNIST file {stem}: {found}; delete it "
                    "so that nnframe downloads it again, or copy in a good one")


def read_mnist(split: str = "train", data_dir: str | os.PathLike | None = None,
               download: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The raw uint8 images (N, 28, 28) and uint8 labels (N,) of a split, verified."""
    if split not in FILES:
        raise DataError(f"unknown MNIST split {split!r}; use 'train' or 'test'")
    folder = paths.data_dir(data_dir) / "mnist"
    images, labels = (_read_verified(folder, stem, download) for stem in FILES[split])
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DataError(f"MNIST {split} files in {folder} do not fit together: images "
                        f"{images.shape}, labels {labels.shape}")
    return images, labels


def mnist(split: str = "train", data_dir: str | os.PathLike | None = None,
          download: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Images as float32 in [0, 1] shaped (N, 28, 28, 1) and integer labels (N,).

    The data directory is ``data_dir``, else ``$NNFRAME_DATA_DIR``, else the user cache
    (``~/.cache/nnframe``); files missing there are downloaded when ``download`` is true.
    """
    images, labels = read_mnist(split, data_dir, download)
    return to_float_images(images), labels.astype(np.int64)


def to_float_images(images: np.ndarray) -> np.ndarray:
    """uint8 images (N, H, W) as float32 in [0, 1] with a channel axis: (N, H, W, 1)."""
    return (images.astype(np.float32) / np.float32(255.0))[..., np.newaxis]


def files_present(data_dir: str | os.PathLike | None = None) -> bool:
    """Whether every MNIST file is in the data directory (unchecked), so no download is due."""
    folder = paths.data_dir(data_dir) / "mnist"
    return all(_locate(folder, stem) is not None for pair in FILES.values() for stem in pair)


def _read_verified(folder: Path, stem: str, allow_download: bool) -> np.ndarray:
    path = _locate(folder, stem)
    if path is None:
        if not allow_download:
            raise DataError(f"MNIST file {stem}(.gz) not found in {folder}; set "
                            f"{paths.DATA_DIR_ENV} to the directory that holds mnist/, or "
                            "allow downloading")
        urls = [f"{base.rstrip('/')}/{stem}.gz" for base in mirrors()]
        path = download.fetch(f"{stem}.gz", urls, folder / f"{stem}.gz",
                              lambda candidate: _check_download(candidate, stem),
                              max_bytes=max_download_size(stem))
    data = read_bytes(path, SIZES[stem])
    check_sha256(data, stem, path)
    return read_idx_bytes(data, str(path))


def _check_download(candidate: Path, stem: str) -> None:
    """A downloaded file, before it is moved into place: decompressed within its size."""
    try:
        data = read_bytes(candidate, SIZES[stem])
    except DataError:
        raise DataError(f"it served something other than the MNIST file {stem}: a damaged "
                        f"gzip, or more than its {SIZES[stem]:,} bytes once "
                        "decompressed") from None
    check_sha256(data, stem)


def _locate(folder: Path, stem: str) -> Path | None:
    """The file for ``stem`` in ``folder`` (gzip first), if anything is there: something
    that is not a regular file is found too, so that reading it says what it is."""
    return next((p for p in (folder / f"{stem}.gz", folder / stem) if p.exists()), None)
