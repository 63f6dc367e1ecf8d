"""The ``npy`` and ``npz`` readers: inputs and targets saved with NumPy."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import attrs
import numpy as np

from nnframe.datasets.readers.base import FileDataset, Raw, as_path_text, check_stream
from nnframe.datasets.streaming import FileRows, npy_rows, npz_rows, streams
from nnframe.errors import DataError
from nnframe.modelfile.regular_files import open_regular


def load_npy(path: str | Path, what: str) -> np.ndarray:
    """One ``.npy`` array, memory-mapped (never unpickled), or a `DataError`."""
    path = Path(path)
    with open_regular(path, what, DataError):
        pass  # refuses a directory, FIFO or device by name before NumPy opens it
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise DataError(f"{path}: not a .npy array file ({exc}); save arrays with "
                        "numpy.save") from None
    if not isinstance(array, np.ndarray):
        raise DataError(f"{path}: holds several arrays; give one .npy array")
    return _numbers(array, str(path))


def _numbers(array: np.ndarray, where: str) -> np.ndarray:
    if array.dtype.kind not in "biuf":
        raise DataError(f"{where}: holds {array.dtype} values, not numbers")
    if array.ndim == 0:
        raise DataError(f"{where}: holds one number; give a batch (N, ...)")
    return array


@attrs.define(eq=False)
class Npy(FileDataset):
    """Inputs and targets in two ``.npy`` files, memory-mapped: ``x`` (N, ...) and
    ``y`` (N,) class labels or (N, ...) values (optional). ``stream``: read the inputs
    batch by batch as training goes (unset: when they would not fit, see
    `nnframe.datasets.streaming.streams`); the targets are read into memory."""

    name: ClassVar[str] = "npy"
    streams: ClassVar[bool] = True
    #: Building reads nothing, so the kit checks it with paths that need not exist.
    check_hints: ClassVar[dict] = {"config": {"x": "x.npy", "y": "y.npy"}}
    path_arguments: ClassVar[tuple[str, ...]] = ("x", "y")

    x: str = attrs.field(converter=as_path_text)
    y: str | None = attrs.field(default=None, converter=as_path_text)
    stream: bool | None = attrs.field(default=None, validator=check_stream)

    def read(self) -> Raw:
        x = load_npy(self.x, "input file")  # memory-mapped: checked, nothing read yet
        if self.stream is not False:
            rows = npy_rows(self.x)
            if streams(self.stream, rows):
                x = rows
        y = None if self.y is None else load_npy(self.y, "target file")
        return _raw(str(self.x), self.name, x, y)


@attrs.define(eq=False)
class Npz(FileDataset):
    """Inputs and targets as two members of one ``.npz`` archive (``numpy.savez``):
    ``path``, and the member names ``x`` (default ``"x"``) and ``y`` (``"y"``; an
    archive without it has no targets). ``stream``: as for ``npy``; the inputs must then
    be stored uncompressed (``numpy.savez``)."""

    name: ClassVar[str] = "npz"
    streams: ClassVar[bool] = True
    #: Building reads nothing, so the kit checks it with paths that need not exist.
    check_hints: ClassVar[dict] = {"config": {"path": "data.npz"}}

    path: str = attrs.field(converter=as_path_text)
    x: str = "x"
    y: str | None = "y"
    stream: bool | None = attrs.field(default=None, validator=check_stream)

    def read(self) -> Raw:
        rows = self._rows()
        if rows is not None and streams(self.stream, rows):
            _, y = load_npz(self.path, self.x, self.y, inputs=False)
            return _raw(self.path, self.name, rows, y, {"x": self.x, "y": self.y})
        x, y = load_npz(self.path, self.x, self.y)
        return _raw(self.path, self.name, x, y, {"x": self.x, "y": self.y})

    def _rows(self) -> FileRows | None:
        """The inputs unread; None when not streaming, or (stream unset) when they are
        compressed and so are read into memory."""
        if self.stream is False:
            return None
        with open_regular(Path(self.path), "data file", DataError):
            pass
        try:
            return npz_rows(self.path, self.x)
        except DataError:
            if self.stream:
                raise
            return None  # load_npz says what is wrong, if anything


def load_npz(path: str | Path, x_name: str, y_name: str | None, what: str = "data file",
             inputs: bool = True) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Members ``x_name`` and (when present) ``y_name`` of an ``.npz`` archive (``what``
    names the file in messages); ``inputs`` False leaves ``x_name`` unread (None)."""
    path = Path(path)
    with open_regular(path, what, DataError) as file:
        try:
            with np.load(file, allow_pickle=False) as archive:
                names = list(archive.files)
                if x_name not in names:
                    raise DataError(f"{path}: has no array {x_name!r}; it holds "
                                    f"{', '.join(names) or 'nothing'} (set x to the inputs' "
                                    "name)")
                x = archive[x_name] if inputs else None
                y = archive[y_name] if y_name is not None and y_name in names else None
        except DataError:
            raise
        except (OSError, ValueError, EOFError) as exc:
            raise DataError(f"{path}: not a .npz archive of arrays ({exc})") from None
    where = f"{path}"
    return None if x is None else _numbers(x, f"{where}[{x_name!r}]"), (
        None if y is None else _numbers(y, f"{where}[{y_name!r}]"))


def _raw(source: str, reader: str, x: np.ndarray | FileRows, y: np.ndarray | None,
         reading: dict[str, Any] | None = None) -> Raw:
    if y is not None and len(y) != len(x):
        raise DataError(f"{source}: {len(x)} input samples but {len(y)} targets; give one "
                        "target per sample")
    return Raw(source, reader, x, y, reading={"kind": "array", **(reading or {})})
