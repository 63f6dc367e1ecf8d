"""Rows of an array in a file, read batch by batch as training goes (``stream = true``).

`FileRows` stands for the inputs of a ``.npy`` file, or of a member stored uncompressed in
an ``.npz`` archive, without reading them: it knows where row 0 starts, the rows' dtype
and shape, and which rows of the file it holds (a training split is a subset). `read`
reads each row a batch needs straight into its place in the batch with a positional read
(``os.preadv``, one per run of consecutive rows), then converts the batch to the network's
dtype, so a batch holds exactly the values the in-memory path gathers.

A file whose rows take at most `MAP_LIMIT` is memory-mapped instead, for an epoch whose
reads cover most of its rows (`FileRows.batch_reader`, `MappedRows`): gathering a batch
from a mapping costs what gathering it from memory does (about 50 us for 128 MNIST rows,
against 260 us for the reads), so it is done in the training thread, as for arrays in
memory, while the kernel reads the file in ahead (``MADV_WILLNEED``). The reads' CPU
time, and the reading thread's, are what a streamed epoch pays when no core is free for
that thread. The price is memory: a mapping's touched pages count in the
process's resident memory, and a kernel that caches files in large pages maps far more
than the rows asked for (measured on Linux 6.18: one shuffled batch of 128 MNIST rows
mapped 159 MB of a 188 MB file). So a larger file, or one process's share of a file read
by several (MPI), is read row by row: page-cache reads do not count in the process's
memory, which stays bounded by the batch size and prefetch depth.

`StreamedRows` is what every such source shares (the array-like face the training loop
and the readers use); the ``image_folder`` reader's `ImageRows` decodes its images batch
by batch the same way. Anything that needs all the rows at once (``numpy.asarray(rows)``:
validation and test data) gets them read into memory.
"""

from __future__ import annotations

import mmap
import os
import struct
import zipfile
from pathlib import Path
from typing import Any, ClassVar

import attrs
import numpy as np

from nnframe.errors import DataError

#: Automatic streaming: when the inputs, as float32, would take more than this fraction of
#: the machine's physical memory.
AUTO_FRACTION = 0.25

#: Memory-mapping: a file whose rows take at most this many bytes is mapped for an epoch
#: that reads at least `MAP_COVER` of its rows; larger files are read row by row.
MAP_LIMIT = 256 * 2**20
MAP_COVER = 0.75


def _index(value: Any) -> np.ndarray | None:
    return None if value is None else np.asarray(value, dtype=np.int64)


class StreamedRows:
    """Rows read when a batch needs them: the array-like face training and the readers
    use (length, shape, subsets, reshapes, ``numpy.asarray``), on a subclass's
    `read_sorted` (or its own `read`, where rows need not be read in file order). A
    subclass is a frozen attrs class with the fields ``rows`` (which of its source's
    rows, None: all) and ``sample_shape``, and says ``count`` (rows in the source),
    ``where`` (the source for messages) and ``dtype``."""

    prefetch: ClassVar[bool] = True
    """Whether batches are read on a thread ahead of the compute (`read_ahead`)."""

    rows: np.ndarray | None
    sample_shape: tuple[int, ...]

    @property
    def count(self) -> int:
        raise NotImplementedError

    @property
    def where(self) -> str:
        raise NotImplementedError

    @property
    def dtype(self) -> np.dtype:
        raise NotImplementedError

    def read_sorted(self, positions: np.ndarray, dtype: Any) -> np.ndarray:
        """The source's rows at ``positions`` (sorted), as ``dtype``, in that order."""
        raise NotImplementedError

    def row_where(self, row: int) -> str:
        """Where source row ``row`` is, for messages."""
        return f"{self.where}: row {row}"

    def epoch_order(self, rng: np.random.Generator) -> np.ndarray:
        """One epoch's shuffled order of the rows (positions in this set), drawn from
        ``rng``: a permutation, exactly as the in-memory path draws it (a source read in
        chunks overrides it with a shuffle that keeps its reads local)."""
        return rng.permutation(len(self))

    def batch_reader(self, reads: list[np.ndarray]) -> StreamedRows:
        """What reads the batches ``reads`` (positions in this set), in that order, with
        ``read(index, dtype)``: the rows themselves for a random-access source (a
        source read in chunks returns a reader that keeps only what the batches still
        need)."""
        return self

    def __len__(self) -> int:
        return self.count if self.rows is None else len(self.rows)

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self), *self.sample_shape)

    @property
    def ndim(self) -> int:
        return 1 + len(self.sample_shape)

    def positions(self, index: Any = None) -> np.ndarray:
        """The source rows of ``index`` (positions in this set of rows; None: all)."""
        if index is None:
            return np.arange(self.count) if self.rows is None else self.rows
        index = np.asarray(index, dtype=np.int64)
        return index if self.rows is None else self.rows[index]

    def __getitem__(self, key: Any) -> StreamedRows:
        """A subset of the rows (a slice or integer indices), still unread."""
        if isinstance(key, slice):
            key = np.arange(len(self))[key]
        key = np.asarray(key)
        if key.ndim != 1 or key.dtype.kind not in "iu":
            raise TypeError("rows of a file take a slice or a 1-D array of row indices")
        return attrs.evolve(self, rows=self.positions(key))

    def reshape(self, *shape: Any) -> StreamedRows:
        """The same rows seen with samples of another shape (same number of values)."""
        if len(shape) == 1 and isinstance(shape[0], tuple):
            shape = shape[0]
        if not shape or shape[0] not in (len(self), -1):
            raise ValueError(f"cannot reshape {len(self)} rows to {shape}: keep the rows")
        size = int(np.prod(self.sample_shape, dtype=np.int64))
        sample = list(shape[1:])
        if -1 in sample:
            known = int(np.prod([s for s in sample if s != -1], dtype=np.int64))
            sample[sample.index(-1)] = size // max(known, 1)
        if int(np.prod(sample, dtype=np.int64)) != size:
            raise ValueError(f"cannot reshape samples of shape {self.sample_shape} to "
                             f"{tuple(shape[1:])}")
        return attrs.evolve(self, sample_shape=tuple(int(s) for s in sample))

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        """Every row, read into memory (held-out data; training reads batches)."""
        return self.read(np.arange(len(self)), dtype or self.dtype)

    def nbytes_as(self, dtype: Any) -> int:
        """How much memory the rows would take in ``dtype``."""
        values = int(np.prod(self.sample_shape, dtype=np.int64))
        return len(self) * values * np.dtype(dtype).itemsize

    def read(self, index: Any, dtype: Any = np.float32) -> np.ndarray:
        """The rows at ``index`` (positions in this set of rows), in that order, as
        ``dtype``; a `DataError` naming the file and row when they cannot be read or hold
        NaN or infinite values."""
        positions = self.positions(index)
        if not len(positions):
            return np.empty((0, *self.sample_shape), dtype)
        order = np.argsort(positions, kind="stable")
        values = self.read_sorted(positions[order], dtype)
        batch = np.empty((len(positions), *self.sample_shape), dtype)
        batch[order] = values.reshape(batch.shape)  # back in the batch's order
        return self.check_finite(batch, positions)

    def check_finite(self, batch: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """``batch`` (the source rows ``positions``), or a `DataError` naming the first
        row that holds NaN or infinite values."""
        if batch.dtype.kind == "f" and not np.isfinite(np.vdot(batch, batch)):
            bad = np.flatnonzero(~np.isfinite(batch.reshape(len(batch), -1)).all(axis=1))
            if len(bad):
                raise DataError(f"{self.row_where(int(positions[bad[0]]))}: holds NaN or "
                                "infinite values; clean them before training")
        return batch


@attrs.frozen(eq=False)
class FileRows(StreamedRows):
    """Rows of one C-ordered array in a file, read when a batch needs them."""

    path: str
    """The file, as messages name it."""
    offset: int
    """Where the array's first row starts, in bytes."""
    file_dtype: np.dtype = attrs.field(converter=np.dtype)
    file_rows: int
    """Rows in the file."""
    row_shape: tuple[int, ...] = attrs.field(converter=tuple)
    """One row's shape as stored."""
    sample_shape: tuple[int, ...] = attrs.field(converter=tuple)
    """One row's shape as the network sees it (a flattened or reshaped view)."""
    rows: np.ndarray | None = attrs.field(default=None, converter=_index, repr=False)
    """Which rows of the file, in order (None: all of them)."""
    member: str | None = None
    """The ``.npz`` member, for messages."""

    @property
    def count(self) -> int:
        return self.file_rows

    @property
    def dtype(self) -> np.dtype:
        return self.file_dtype

    @property
    def row_bytes(self) -> int:
        return int(np.prod(self.row_shape, dtype=np.int64)) * self.file_dtype.itemsize

    @property
    def where(self) -> str:
        return f"{self.path}[{self.member!r}]" if self.member else self.path

    @property
    def file_bytes(self) -> int:
        """The bytes of every row in the file."""
        return self.file_rows * self.row_bytes

    def batch_reader(self, reads: list[np.ndarray]) -> StreamedRows | MappedRows:
        """What reads the batches ``reads``: the file memory-mapped when its rows take at
        most `MAP_LIMIT` and the batches read at least `MAP_COVER` of this set's rows (a
        whole epoch, not one process's share of it), else these rows, read row by row."""
        read = sum(len(index) for index in reads)
        if self.file_bytes > MAP_LIMIT or read < MAP_COVER * len(self) or not read:
            return self
        return MappedRows.open(self)

    def read(self, index: Any, dtype: Any = np.float32) -> np.ndarray:
        """The rows at ``index`` (positions in this set of rows), in that order, as
        ``dtype``: each row read straight into its place in the batch."""
        positions = self.positions(index)
        batch = self.read_rows(positions).astype(dtype, copy=False)
        return self.check_finite(batch.reshape(len(positions), *self.sample_shape), positions)

    def read_rows(self, positions: np.ndarray) -> np.ndarray:
        """The file's rows at ``positions``, in that order, as stored: one positional
        read (``os.preadv``) per run of consecutive rows, into its place in the result.

        Reading in the batch's order, not the file's, saves putting the rows back in
        order afterwards (a shuffled batch's rows are scattered over the file either
        way, and each read is served from the page cache or the disk alike)."""
        size = self.row_bytes
        rows = np.empty((len(positions), *self.row_shape), self.file_dtype)
        if not len(positions):
            return rows
        buffer = memoryview(rows.reshape(-1).view(np.uint8))
        starts = np.flatnonzero(np.diff(positions, prepend=positions[0] - 2) != 1)
        ends = np.append(starts[1:], len(positions)).tolist()
        offsets = (self.offset + positions[starts] * size).tolist()
        read = 0
        try:
            with open(self.path, "rb", buffering=0) as file:
                read_at = _reader(file)
                for first, end, at in zip(starts.tolist(), ends, offsets, strict=True):
                    read += read_at(buffer[first * size:end * size], at)
        except OSError as exc:
            raise DataError(f"{self.where}: rows {int(positions.min())} to "
                            f"{int(positions.max())}: cannot be read ({exc})") from None
        if read != len(positions) * size:
            raise _truncated(self, positions, os.path.getsize(self.path))
        return rows


@attrs.frozen(eq=False)
class MappedRows:
    """`FileRows` read through a memory map of their file, for one epoch: each batch is
    gathered from the mapping, the way the in-memory path gathers it from an array."""

    prefetch: ClassVar[bool] = False
    """Read in the training thread: gathering from a map costs what gathering from memory
    does, and a reading thread would take a core from the compute."""

    rows: FileRows
    mapping: mmap.mmap = attrs.field(repr=False)
    values: np.ndarray = attrs.field(repr=False)
    """The file's rows, as stored, on the mapping."""

    @classmethod
    def open(cls, rows: FileRows) -> MappedRows:
        """A map of ``rows``' file, or a `DataError` when it cannot be mapped."""
        try:
            with open(rows.path, "rb") as file:
                mapping = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError) as exc:
            raise DataError(f"{rows.where}: cannot be read ({exc})") from None
        if len(mapping) < rows.offset + rows.file_bytes:
            raise _truncated(rows, np.arange(rows.count), len(mapping))
        if hasattr(mmap, "MADV_WILLNEED"):  # the kernel reads the file in ahead of us
            mapping.madvise(mmap.MADV_WILLNEED)
        count = rows.file_rows * int(np.prod(rows.row_shape, dtype=np.int64))
        values = np.frombuffer(mapping, rows.file_dtype, count, rows.offset)
        return cls(rows, mapping, values.reshape(rows.file_rows, *rows.row_shape))

    def read(self, index: Any, dtype: Any = np.float32) -> np.ndarray:
        """The rows at ``index`` (positions in the rows' set), in that order, as
        ``dtype``: the values `FileRows.read` gives."""
        rows = self.rows
        positions = rows.positions(index)
        # touching a page past the end of a file truncated since it was mapped would kill
        # the process (SIGBUS), so the file's size (an fstat) is checked first
        size = self.mapping.size()
        if size < rows.offset + rows.file_bytes:
            raise _truncated(rows, positions, size)
        batch = self.values.take(positions, axis=0).astype(dtype, copy=False)
        return rows.check_finite(batch.reshape(len(positions), *rows.sample_shape),
                                 positions)


def _truncated(rows: FileRows, positions: np.ndarray, size: int) -> DataError:
    """The error for a file of ``size`` bytes too short for the rows at ``positions``."""
    available = max(0, (size - rows.offset) // rows.row_bytes)
    short = np.sort(positions)
    row = int(short[min(np.searchsorted(short, available), len(short) - 1)])
    return DataError(f"{rows.where}: row {row}: the file ends there (it should hold "
                     f"{rows.count} rows); was it truncated or is it still being written?")


def _reader(file: Any) -> Any:
    """``read_at(buffer, offset)`` on an open file: one ``os.preadv`` call where the
    platform has it, else a seek and a read."""
    if hasattr(os, "preadv"):
        fd, preadv = file.fileno(), os.preadv
        return lambda buffer, at: preadv(fd, [buffer], at)

    def read_at(buffer: memoryview, at: int) -> int:
        file.seek(at)
        return file.readinto(buffer) or 0

    return read_at


def npy_rows(path: str | Path) -> FileRows:
    """The rows of a ``.npy`` file, unread (its header only is read)."""
    path = Path(path)
    try:
        with open(path, "rb") as file:
            dtype, shape = _header(file, str(path))
            offset = file.tell()
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc})") from None
    return _rows(str(path), offset, dtype, shape, None)


def npz_rows(path: str | Path, member: str) -> FileRows:
    """The rows of member ``member`` of an ``.npz`` archive, which must be stored
    uncompressed (``numpy.savez``) to be read in place."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            names = [n[:-4] if n.endswith(".npy") else n for n in archive.namelist()]
            if member not in names:
                raise DataError(f"{path}: has no array {member!r}; it holds "
                                f"{', '.join(names) or 'nothing'} (set x to the inputs' name)")
            info = archive.getinfo(member + ".npy" if member + ".npy" in
                                   archive.namelist() else member)
        if info.compress_type != zipfile.ZIP_STORED:
            raise DataError(f"{path}[{member!r}]: is compressed (numpy.savez_compressed), "
                            "so its rows cannot be read in place; save it with numpy.savez "
                            "or as a .npy file to stream it, or leave stream unset")
        with open(path, "rb") as file:
            file.seek(info.header_offset)
            local = file.read(30)
            if len(local) != 30 or local[:4] != b"PK\x03\x04":
                raise DataError(f"{path}: not a .npz archive of arrays (bad member header)")
            name_length, extra_length = struct.unpack("<HH", local[26:30])
            file.seek(info.header_offset + 30 + name_length + extra_length)
            dtype, shape = _header(file, f"{path}[{member!r}]")
            offset = file.tell()
    except (OSError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path}: not a .npz archive of arrays ({exc})") from None
    return _rows(str(path), offset, dtype, shape, member)


def _header(file: Any, where: str) -> tuple[np.dtype, tuple[int, ...]]:
    from numpy.lib import format as npy_format

    try:
        version = npy_format.read_magic(file)
        read = (npy_format.read_array_header_1_0 if version == (1, 0)
                else npy_format.read_array_header_2_0)
        shape, fortran_order, dtype = read(file)
    except (ValueError, OSError, EOFError) as exc:
        raise DataError(f"{where}: not a .npy array ({exc}); save arrays with numpy.save"
                        ) from None
    if dtype.hasobject or dtype.kind not in "biuf":
        raise DataError(f"{where}: holds {dtype} values, not numbers")
    if not shape:
        raise DataError(f"{where}: holds one number; give a batch (N, ...)")
    if fortran_order and len(shape) > 1:
        raise DataError(f"{where}: is stored in Fortran order, so its rows are not "
                        "contiguous; save numpy.ascontiguousarray(x) to stream it")
    return dtype, tuple(int(s) for s in shape)


def _rows(path: str, offset: int, dtype: np.dtype, shape: tuple[int, ...],
          member: str | None) -> FileRows:
    rows = FileRows(path, offset, dtype, shape[0], shape[1:], shape[1:], member=member)
    needed = offset + shape[0] * rows.row_bytes
    size = os.path.getsize(path)
    if size < needed and member is None:
        raise DataError(f"{path}: holds {size} bytes but its header announces "
                        f"{shape[0]} rows of shape {shape[1:]} ({needed} bytes); the file is "
                        "truncated")
    return rows


def streams(stream: bool | None, rows: FileRows) -> bool:
    """Whether to read ``rows`` batch by batch: as asked, or (``stream`` unset) when
    they would take more than `AUTO_FRACTION` of physical memory as float32."""
    if stream is not None:
        return bool(stream)
    return rows.nbytes_as(np.float32) > AUTO_FRACTION * physical_memory()


def physical_memory() -> int:
    """The machine's physical memory in bytes (a large number when unknown)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 1 << 62


def is_streamed(x: Any) -> bool:
    """Whether ``x`` is rows read as training goes (not an array in memory)."""
    return isinstance(x, StreamedRows)
