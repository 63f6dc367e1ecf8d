"""The data set contract: a named data set, described before it is loaded."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import attrs
import numpy as np

from nnframe.errors import DataError

Loader = Callable[[str, "str | os.PathLike[str] | None", bool], tuple[np.ndarray, np.ndarray]]


@runtime_checkable
class DatasetProtocol(Protocol):
    """What configs, `Network.fit` and the command line need from a data set: `Dataset`
    has every member. A reader of files adds ``training_arrays`` and ``evaluation_arrays``
    (`nnframe.FileDataset`)."""

    name: str
    """The registered name: ``"mnist_sample"``."""
    sample_shape: tuple[int, ...]
    """One input sample's shape, batch axis excluded."""
    sizes: dict[str, int]
    """Samples per split: ``{"train": 2000, "test": 500}``."""
    num_classes: int | None
    """The number of classes when the targets are integer labels, else None."""

    def load(self, split: str, data_dir: str | os.PathLike[str] | None = None,
             download: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Inputs and targets of ``split`` (``"train"`` or ``"test"``)."""


def _always() -> bool:
    return True


@attrs.frozen
class Dataset:
    """A named data set: its splits' sizes, one sample's shape and its classes, known
    before anything is read, so that a config can be checked without loading the data.

    A plugin registers a factory that returns one (``register_datasets``); ``loader(split,
    data_dir, download)`` returns the inputs and targets of ``"train"`` or ``"test"``.
    ``num_classes`` is set when the targets are integer class labels (N,); None means the
    targets are arrays of ``target_shape`` per sample.
    """

    name: str
    """The registered name, as configs and messages use it: ``"mnist_sample"``."""
    description: str
    """What the data is, in one line."""
    sample_shape: tuple[int, ...] = attrs.field(converter=tuple)
    """One input sample's shape, batch axis excluded: ``(28, 28, 1)``."""
    sizes: dict[str, int]
    """Samples per split: ``{"train": 2000, "test": 500}``."""
    num_classes: int | None
    """The number of classes when the targets are integer labels, else None."""
    target_shape: tuple[int, ...] = attrs.field(converter=tuple)
    """One target's shape when the targets are not class labels (``(1,)``), else ``()``."""
    loader: Loader = attrs.field(repr=False)
    """``loader(split, data_dir, download) -> (x, y)``, called by `load`."""
    ready: Callable[[], bool] = attrs.field(default=_always, repr=False)
    """Whether it can be loaded now without downloading anything."""

    def load(self, split: str, data_dir: str | os.PathLike[str] | None = None,
             download: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Inputs and targets of ``split`` (``"train"`` or ``"test"``)."""
        if split not in self.sizes:
            raise DataError(f"data set {self.name!r} has no split {split!r}; "
                            f"use {' or '.join(map(repr, self.sizes))}")
        return self.loader(split, data_dir, download)

    def get_config(self) -> dict[str, Any]:
        """Data sets are rebuilt by name alone."""
        return {}


__all__ = ["Dataset", "DatasetProtocol"]
