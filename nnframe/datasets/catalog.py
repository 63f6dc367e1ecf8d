"""The data sets a config file or the CLI can name, with what is known before loading them.

Knowing each set's sample shape, size and classes without reading it lets a config be
validated (layer shapes, subset sizes) before any data is loaded or downloaded.
"""

from __future__ import annotations

import difflib
import math
import os
from collections.abc import Callable

import attrs
import numpy as np

from nnframe.errors import DataError

Loader = Callable[[str, "str | os.PathLike | None", bool], tuple[np.ndarray, np.ndarray]]


def _load_xor(split: str, data_dir: str | os.PathLike | None, download: bool):
    from nnframe.datasets.xor import xor

    return xor()


def _load_mnist(split: str, data_dir: str | os.PathLike | None, download: bool):
    from nnframe.datasets.mnist import mnist

    return mnist(split, data_dir=data_dir, download=download)


def _mnist_present() -> bool:
    from nnframe.datasets.mnist import files_present

    return files_present()


def _always() -> bool:
    return True


def _load_mnist_sample(split: str, data_dir: str | os.PathLike | None, download: bool):
    from nnframe.datasets.sample import mnist_sample

    return mnist_sample(split)


@attrs.frozen
class DatasetInfo:
    """A named data set: its splits' sizes, one sample's shape and its classes.

    ``num_classes`` is set when the targets are integer class labels (N,); ``None`` means
    the targets are already arrays of ``target_shape`` per sample (XOR's (1,) of 0/1).
    """

    name: str
    description: str
    sample_shape: tuple[int, ...]
    sizes: dict[str, int]
    num_classes: int | None
    target_shape: tuple[int, ...]
    loader: Loader = attrs.field(repr=False)
    #: whether it can be loaded now without downloading anything
    ready: Callable[[], bool] = attrs.field(default=_always, repr=False)

    def load(self, split: str, data_dir: str | os.PathLike | None = None,
             download: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Inputs and targets of ``split`` ('train' or 'test')."""
        if split not in self.sizes:
            raise DataError(f"data set {self.name!r} has no split {split!r}; "
                            f"use {' or '.join(map(repr, self.sizes))}")
        return self.loader(split, data_dir, download)


DATASETS: dict[str, DatasetInfo] = {
    info.name: info
    for info in (
        DatasetInfo("xor", "the four samples of the XOR truth table (test = train)", (2,),
                    {"train": 4, "test": 4}, None, (1,), _load_xor),
        DatasetInfo("mnist", "MNIST handwritten digits, 28x28x1 in [0, 1] (downloaded if "
                    "missing)", (28, 28, 1), {"train": 60_000, "test": 10_000}, 10, (),
                    _load_mnist, _mnist_present),
        DatasetInfo("mnist_sample", "2,000 training and 500 test images of MNIST shipped "
                    "with nnframe", (28, 28, 1), {"train": 2_000, "test": 500}, 10, (),
                    _load_mnist_sample),
    )
}


def dataset(name: str) -> DatasetInfo:
    """The data set called ``name``, or a `DataError` suggesting close names."""
    info = DATASETS.get(name) if isinstance(name, str) else None
    if info is None:
        raise DataError(unknown_dataset_message(name))
    return info


def unknown_dataset_message(name: object) -> str:
    close = difflib.get_close_matches(str(name), list(DATASETS), n=2, cutoff=0.6)
    hint = f" (did you mean {' or '.join(map(repr, close))}?)" if close else ""
    return f"unknown dataset {name!r}{hint}; choose one of {', '.join(DATASETS)}"


def for_input_shape(shape: tuple[int, ...]) -> DatasetInfo:
    """The data set to evaluate a model with this input shape on, when none is named.

    Among the sets whose samples hold as many values, the first that needs no download
    (full MNIST when its files are in the data directory, else the shipped sample).
    """
    size = math.prod(shape)
    fits = [info for info in DATASETS.values() if math.prod(info.sample_shape) == size]
    if not fits:
        raise DataError(f"no known data set has samples that fit the input shape "
                        f"{tuple(shape)}; choose one with --dataset ({', '.join(DATASETS)})")
    ready = [info for info in fits if info.ready()]
    return (ready or fits)[0]
