"""What every file reader shares: `Raw` rows as read, and the `FileDataset` base class.

A file reader is a data set component with arguments (``nnframe.dataset("csv",
path="penguins.csv", target="species")``). Building one reads nothing: it describes
itself from its arguments (and, cheaply, a file's header), so ``nnframe check`` and
config validation never need the file. `FileDataset.read` reads all its rows into a
`Raw`; the model's `nnframe.DataSchema` is then fitted on the training rows and turns any
rows of the same format into arrays. Readers that can (``npy``, ``npz``, ``parquet``,
``image_folder``) may instead give their inputs as
`nnframe.datasets.streaming.StreamedRows`, read batch by batch as training goes
(``stream``; see that module).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import attrs
import numpy as np

from nnframe.core.contracts.config import config_of
from nnframe.errors import ConfigError, DataError

if TYPE_CHECKING:
    from nnframe.datasets.tables import Table

#: What ``missing`` may be: stop with the rows named, leave such rows out, or fill them.
MISSING_CHOICES = ("error", "drop", "fill")


@attrs.frozen
class Raw:
    """Rows as a reader read them: inputs (a `Table` of feature columns, or an array of
    samples) and their targets (text or numbers; None when the file has none)."""

    source: str
    """The file or folder, as messages name it."""
    reader: str
    """The reader's registered name (``"csv"``), which a schema keeps to read more rows."""
    inputs: Table | np.ndarray = attrs.field(repr=False)
    targets: np.ndarray | None = attrs.field(default=None, repr=False)
    target_names: tuple[str, ...] = ()
    """The target columns (tables), for the predictions' header."""
    class_names: tuple[str, ...] | None = None
    """Class names the data itself gives (image folders' sub-folders), the targets then
    being indices into them."""
    reading: dict[str, Any] = attrs.field(factory=dict)
    """How to read more rows of this format (delimiter, image size...), JSON-safe."""
    names: tuple[str, ...] | None = None
    """Per row, where it came from (image files), for predictions."""

    def __len__(self) -> int:
        return len(self.inputs)

    def take(self, rows: np.ndarray) -> Raw:
        """The rows at ``rows``."""
        inputs = self.inputs.take(rows) if hasattr(self.inputs, "columns") else \
            self.inputs[rows]
        targets = None if self.targets is None else self.targets[rows]
        names = None if self.names is None else tuple(self.names[i] for i in rows)
        return attrs.evolve(self, inputs=inputs, targets=targets, names=names)

    def where(self, row: int) -> str:
        where = getattr(self.inputs, "where", None)
        if callable(where):  # a table (rows streamed from a file name theirs otherwise)
            return where(row)
        if hasattr(self.inputs, "row_where"):
            return self.inputs.row_where(int(self.inputs.positions([row])[0]))
        if self.names is not None:
            return self.names[row]
        return f"{self.source}: sample {row}"


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
