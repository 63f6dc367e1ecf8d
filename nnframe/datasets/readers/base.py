"""What every file reader shares: the `FileDataset` base class and its argument checks.

A file reader is a data set component with arguments (``nnframe.dataset("csv",
path="penguins.csv", target="species")``). Building one reads nothing: it describes
itself from its arguments (and, cheaply, a file's header), so ``nnframe check`` and
config validation never need the file. `FileDataset.read` reads all its rows into a
`nnframe.datasets.raw.Raw`; the model's `nnframe.DataSchema` is then fitted on the
training rows and turns any rows of the same format into arrays. Readers that can
(``npy``, ``npz``, ``parquet``, ``image_folder``) may instead give their inputs as
`nnframe.datasets.streaming.StreamedRows`, read batch by batch as training goes
(``stream``; see that module).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from nnframe.core.contracts.config import config_of
from nnframe.datasets.raw import Raw
from nnframe.errors import ConfigError, DataError

#: What ``missing`` may be: stop with the rows named, leave such rows out, or fill them.
MISSING_CHOICES = ("error", "drop", "fill")


def check_stream(instance: Any, attribute: Any, value: Any) -> None:
    """``stream``: None (automatic), true or false. Readers that cannot read batches from
    disk (no ``streams`` class attribute) refuse true, not pretend it."""
    if value not in (None, False, True):
        raise _argument_error("stream", f"{type(instance).name}: stream must be true, false "
                              f"or unset, got {value!r}")
    if value is True and not getattr(instance, "streams", False):
        raise _argument_error("stream", f"{type(instance).name}: stream = true: reading "
                              "batches from disk as training goes is implemented for npy, "
                              "npz, parquet and image_folder, not yet for this reader; leave "
                              "stream unset (the data is read into memory) or save the inputs "
                              "as .npy or Parquet")


def check_missing(instance: Any, attribute: Any, value: Any) -> None:
    if value not in MISSING_CHOICES:
        raise _argument_error("missing", f"{type(instance).name}: missing must be one of "
                              f"{', '.join(map(repr, MISSING_CHOICES))}, got {value!r}")


def _argument_error(argument: str, message: str) -> ConfigError:
    """A `ConfigError` whose ``argument`` names the argument (a config reports its key)."""
    error = ConfigError(message)
    error.argument = argument
    return error


def as_path_text(value: Any) -> Any:
    """Paths are kept as text, so that configs stay JSON-safe."""
    return os.fspath(value) if isinstance(value, os.PathLike) else value


def as_names(value: Any) -> Any:
    """One name or a list of names as a tuple (None stays None)."""
    if value is None or isinstance(value, tuple):
        return value
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(value)
    return value


class FileDataset:
    """Base class of readers of the user's files: the data set contract with what is
    not known before reading left unknown (``sample_shape`` None, ``sizes`` empty).

    A subclass is an attrs class whose fields are its arguments, sets ``name`` (its
    registered name) and ``path_arguments`` (the arguments that are paths, which a
    config resolves against its own folder), and implements `read`.
    """

    name: ClassVar[str] = "file"
    path_arguments: ClassVar[tuple[str, ...]] = ("path",)
    #: Unknown until the file is read.
    sample_shape: ClassVar[tuple[int, ...] | None] = None
    num_classes: ClassVar[int | None] = None
    target_shape: ClassVar[tuple[int, ...]] = ()

    @property
    def sizes(self) -> dict[str, int]:
        """Unknown until read: one file is split by the config (``test_split``)."""
        return {}

    @property
    def paths(self) -> tuple[Path, ...]:
        return tuple(Path(getattr(self, name)) for name in self.path_arguments
                     if getattr(self, name, None) is not None)

    @property
    def description(self) -> str:
        return f"{self.name} data from {', '.join(map(str, self.paths))}"

    def training_arrays(self, network: Any, validation_split: float, seed: int | None
                        ) -> tuple[np.ndarray, np.ndarray, Any]:
        """``(x, y, validation or None)`` for `Network.fit`: the rows with
        ``validation_split`` held out (stratified by class) and the network's schema fitted
        on the training rows (`nnframe.datasets.network_data.training_arrays`)."""
        from nnframe.datasets.network_data import training_arrays

        return training_arrays(network, self, validation_split, seed)

    def evaluation_arrays(self, network: Any) -> tuple[np.ndarray, np.ndarray]:
        """Inputs and targets of every row for `Network.evaluate`, coded by the network's
        schema (`nnframe.datasets.network_data.evaluation_arrays`)."""
        from nnframe.datasets.network_data import evaluation_arrays

        return evaluation_arrays(network, self)

    def ready(self) -> bool:
        """Whether its files are there (nothing is downloaded)."""
        return all(path.exists() for path in self.paths)

    def describe(self) -> dict[str, Any]:
        """What is known without reading the data: the reader, its files, and whether they
        are there. Never raises."""
        return {"reader": self.name, "paths": [str(p) for p in self.paths],
                "present": self.ready()}

    def read(self) -> Raw:
        """Every row of the file(s)."""
        raise NotImplementedError(f"{type(self).__name__} must implement read()")

    def load(self, split: str = "all", data_dir: Any = None,
             download: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Every row as arrays, coded by a schema fitted on all of them (for a quick look;
        training fits the schema on its training split only)."""
        from nnframe.datasets.schema import fit_schema

        if split not in ("all", "train"):
            raise DataError(f"{self.name} data has no {split!r} split: split it with "
                            "test_split in a config, or read a test file with its own reader")
        raw = self.read()
        schema = fit_schema(raw)
        return schema.inputs(raw), schema.targets(raw)

    def get_config(self) -> dict[str, Any]:
        return config_of(self)
