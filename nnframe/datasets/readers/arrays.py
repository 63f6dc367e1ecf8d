"""The ``npy`` and ``npz`` readers: inputs and targets saved with NumPy."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import attrs
import numpy as np

from nnframe.datasets.array_files import load_npy, load_npz
from nnframe.datasets.raw import Raw
from nnframe.datasets.readers.base import FileDataset, as_path_text, check_stream
from nnframe.datasets.streaming import FileRows, npy_rows, npz_rows, streams
from nnframe.errors import DataError
from nnframe.modelfile.regular_files import open_regular


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


def _raw(source: str, reader: str, x: np.ndarray | FileRows, y: np.ndarray | None,
         reading: dict[str, Any] | None = None) -> Raw:
    if y is not None and len(y) != len(x):
        raise DataError(f"{source}: {len(x)} input samples but {len(y)} targets; give one "
                        "target per sample")
    return Raw(source, reader, x, y, reading={"kind": "array", **(reading or {})})
