"""Number columns of a Parquet file, read row group by row group as training goes.

`ParquetRows` stands for the feature columns of a Parquet file without reading them: it
knows the row groups (Parquet's unit of reading) and which rows it holds. A Parquet file
cannot be read a row at a time, so it is shuffled in two stages (`block_buffer_order`),
each epoch, from the training run's random generator:

1. the row groups (blocks) are put in a random order;
2. their rows enter, block by block, a shuffle buffer of ``buffer`` rows; each time a
   block is added, as many rows as overflow the buffer are drawn from it at random, and
   at the end of the epoch what is left is drawn in random order.

The batches are consecutive rows of that order. `BufferedReads` then reads them: a row
group is decoded when a batch first needs one of its rows, and only the rows this process
will train on are kept, in a pool that never holds more than the buffer, one row group and
a batch. The same generator state gives the same order every run; with a buffer as large
as the data it is a uniform shuffle of all rows, with ``buffer = 0`` the rows of a block
stay together (shuffled among themselves).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import numpy as np

from nnframe.datasets.streaming import StreamedRows, _index
from nnframe.errors import DataError

#: Rows in the shuffle buffer by default (the ``parquet`` reader's ``shuffle_buffer``).
SHUFFLE_BUFFER = 10_000

#: Arrow types read as numbers (as the in-memory ``parquet`` reader reads them).
NUMBER_TYPES = ("int", "uint", "float", "double", "halffloat", "bool")


def _sizes(value: Any) -> tuple[int, ...]:
    return tuple(int(v) for v in value)


@attrs.frozen(eq=False)
class ParquetRows(StreamedRows):
    """Number columns of a Parquet file (one row a sample of ``len(column_names)``
    values), read a row group at a time."""

    path: str
    """The file, as messages name it."""
    column_names: tuple[str, ...] = attrs.field(converter=tuple)
    """The feature columns, in order."""
    group_rows: tuple[int, ...] = attrs.field(converter=_sizes)
    """Rows in each row group of the file."""
    sample_shape: tuple[int, ...] = attrs.field(converter=tuple)
    rows: np.ndarray | None = attrs.field(default=None, converter=_index, repr=False)
    """Which rows of the file, in order (None: all of them)."""
    buffer: int = SHUFFLE_BUFFER
    """Rows in the shuffle buffer (`block_buffer_order`)."""

    @property
    def count(self) -> int:
        return int(sum(self.group_rows))

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.float32)  # as the table schema codes number columns

    @property
    def where(self) -> str:
        return self.path

    @property
    def group_starts(self) -> np.ndarray:
        """The file row each row group starts at (and, last, the number of rows)."""
        return np.concatenate([[0], np.cumsum(self.group_rows, dtype=np.int64)])

    def group_of(self, positions: np.ndarray) -> np.ndarray:
        """The row group of each file row in ``positions``."""
        return np.searchsorted(self.group_starts, positions, side="right") - 1

    def row_where(self, row: int) -> str:
        group = int(self.group_of(np.array([row]))[0])
        return f"{self.path}: row group {group}, row {row}"

    def epoch_order(self, rng: np.random.Generator) -> np.ndarray:
        """The block-then-buffer shuffle of these rows (see the module)."""
        positions = self.positions()
        if len(positions) and (positions[1:] >= positions[:-1]).all():  # all, or a split
            bounds = np.searchsorted(positions, self.group_starts[1:-1])
            blocks = [block for block in np.split(np.arange(len(positions)), bounds)
                      if len(block)]
        else:  # rows in any order: grouped by row group
            groups = self.group_of(positions)
            by_group = np.argsort(groups, kind="stable")
            starts = np.flatnonzero(np.diff(groups[by_group], prepend=-1))
            blocks = np.split(by_group, starts[1:]) if len(by_group) else []
        return block_buffer_order(blocks, self.buffer, rng)

    def batch_reader(self, reads: list[np.ndarray]) -> BufferedReads:
        return BufferedReads(self, reads)

    def read_sorted(self, positions: np.ndarray, dtype: Any) -> np.ndarray:
        """Any rows (validation data, samples): each row group that holds some of them is
        decoded in turn, and only those rows kept."""
        groups = self.group_of(positions)
        parts = []
        with self.opened() as file:
            for group in np.unique(groups):
                wanted = positions[groups == group] - self.group_starts[group]
                parts.append(self.decode(file, int(group))[wanted])
        return np.concatenate(parts).astype(dtype, copy=False)

    def opened(self) -> Any:
        """The file, open for reading row groups (a `DataError` when it cannot be)."""
        import pyarrow.parquet as parquet

        try:
            return parquet.ParquetFile(self.path, pre_buffer=False)  # one chunk at a time
        except Exception as exc:  # pyarrow's errors: gone, or no longer Parquet
            raise DataError(f"{self.path}: cannot be read as Parquet ({exc})") from None

    def decode(self, file: Any, group: int) -> np.ndarray:
        """Row group ``group`` as float32 rows (file values, as float64, then float32,
        exactly as the in-memory reader and schema convert them)."""
        first = int(self.group_starts[group])
        try:
            table = file.read_row_group(group, columns=list(self.column_names),
                                        use_threads=False)
        except Exception as exc:  # pyarrow's errors: a damaged row group
            raise DataError(f"{self.path}: row group {group} (rows {first} to "
                            f"{first + self.group_rows[group] - 1}): cannot be read ({exc})"
                            ) from None
        values = np.empty((table.num_rows, len(self.column_names)), np.float32)
        for column, name in enumerate(self.column_names):
            data = table.column(column)
            if data.null_count:
                row = int(np.flatnonzero(data.is_null().to_numpy(zero_copy_only=False))[0])
                raise DataError(f"{self.path}: row group {group}, row {first + row}, column "
                                f"{name!r}: the value is missing; fill it in, or leave stream "
                                "unset and read with missing = \"drop\" or \"fill\"")
            values[:, column] = _numbers(data)
        return values.reshape(len(values), *self.sample_shape)


def _numbers(column: Any) -> np.ndarray:
    """A chunked Arrow column of numbers without nulls as float64, read from its buffers
    (pyarrow's ``to_numpy`` imports pandas when it is installed: some 50 MB)."""
    import pyarrow as pa

    parts = []
    for chunk in column.chunks:
        kind, data = chunk.type, chunk.buffers()[1]
        if pa.types.is_boolean(kind):
            bits = np.unpackbits(np.frombuffer(data, np.uint8), bitorder="little")
            parts.append(bits[chunk.offset:chunk.offset + len(chunk)])
            continue
        letter = "f" if pa.types.is_floating(kind) else \
            "i" if pa.types.is_signed_integer(kind) else "u"
        dtype = np.dtype(f"<{letter}{kind.bit_width // 8}")
        parts.append(np.frombuffer(data, dtype, len(chunk), chunk.offset * dtype.itemsize))
    if not parts:
        return np.zeros(0)
    return np.concatenate(parts).astype(np.float64)


def block_buffer_order(blocks: list[np.ndarray], buffer: int,
                       rng: np.random.Generator) -> np.ndarray:
    """A shuffled order of the positions in ``blocks`` (a list of position arrays, one per
    row group) that reads the blocks one after another: the blocks in random order, their
    rows through a buffer of ``buffer`` rows from which the overflow is drawn at random
    (see the module). Vectorised per block, not per row."""
    if buffer < 0:
        raise ValueError(f"the shuffle buffer must be at least 0 rows, got {buffer}")
    order = np.empty(sum(len(block) for block in blocks), np.int64)
    done = 0
    pending = np.zeros(0, np.int64)
    for block in rng.permutation(len(blocks)):
        pending = np.concatenate([pending, blocks[block]])
        excess = len(pending) - buffer
        if excess > 0:
            chosen = rng.choice(len(pending), excess, replace=False)  # in random order
            order[done:done + excess] = pending[chosen]
            done += excess
            kept = np.ones(len(pending), bool)
            kept[chosen] = False
            pending = pending[kept]
    order[done:] = pending[rng.permutation(len(pending))]
    return order


class BufferedReads:
    """Reads the batches of one epoch (positions in ``rows``, in the order they will be
    asked for), each row group decoded once, when a batch first needs it; only the rows
    of those batches are kept, in a pool freed row by row as batches take them. Used by
    the one thread that reads ahead."""

    def __init__(self, rows: ParquetRows, reads: list[np.ndarray]) -> None:
        self.rows = rows
        lengths = np.array([len(r) for r in reads], dtype=np.int64)
        self.ends = np.cumsum(lengths)
        self.sequence = rows.positions(np.concatenate(reads) if reads else
                                       np.zeros(0, np.int64))  # file rows, in read order
        # the sequence's indices grouped by row group: a few index arrays a row, and
        # 4-byte ones where they fit, since they are what grows with the data
        small = np.int32 if len(self.sequence) < 2**31 else np.int64
        groups = rows.group_of(self.sequence).astype(small)
        self.by_group = np.argsort(groups, kind="stable").astype(small)
        groups = groups[self.by_group]
        self.group_first = np.flatnonzero(np.diff(groups, prepend=-1))
        self.groups = groups[self.group_first]
        del groups
        counts = np.diff(self.group_first, append=len(self.by_group))
        self.group_counts = counts
        first_use = self.by_group[self.group_first]  # the first read of each group's rows
        self.load_order = np.argsort(first_use, kind="stable")
        self.load_at = first_use[self.load_order]
        # rows held after loading what read k needs: loaded minus already taken
        loaded = np.concatenate([[0], np.cumsum(counts[self.load_order])])
        held = loaded[np.searchsorted(self.load_at, self.ends, side="left")] - (
            self.ends - lengths)
        self.capacity = int(held.max()) if len(held) else 0
        self.loaded = 0  # groups loaded so far, in load order
        self.done = 0  # rows of the sequence taken so far
        self.pool: np.ndarray | None = None
        self.slot = np.full(len(self.sequence), -1, small)
        self.free = np.arange(self.capacity, dtype=small)[::-1].copy()
        self.free_count = self.capacity
        self.file: Any = None

    def read(self, index: Any, dtype: Any = np.float32) -> np.ndarray:
        """The next batch, which must be ``index`` (positions in the rows)."""
        begin, end = self.done, self.done + len(index)
        if not np.array_equal(self.rows.positions(index), self.sequence[begin:end]):
            raise RuntimeError("Parquet rows read out of the planned order")
        while self.loaded < len(self.load_at) and self.load_at[self.loaded] < end:
            self._load(int(self.load_order[self.loaded]))
            self.loaded += 1
        slots = self.slot[begin:end]
        batch = self.pool[slots].astype(dtype, copy=False) if len(slots) else np.empty(
            (0, *self.rows.sample_shape), dtype)
        self.free[self.free_count:self.free_count + len(slots)] = slots
        self.free_count += len(slots)
        self.done = end
        if self.done == len(self.sequence) and self.file is not None:
            self.file.close()
            self.file = None
        return self.rows.check_finite(batch, self.sequence[begin:end])

    def _load(self, which: int) -> None:
        """Decode one row group into free slots of the pool: the rows the batches want."""
        rows = self.rows
        if self.file is None:
            self.file = rows.opened()
        if self.pool is None:
            self.pool = np.empty((self.capacity, *rows.sample_shape), np.float32)
        first = self.group_first[which]
        wanted = self.by_group[first:first + self.group_counts[which]]  # sequence indices
        group = int(self.groups[which])
        values = rows.decode(self.file, group)
        slots = self.free[self.free_count - len(wanted):self.free_count]
        self.free_count -= len(wanted)
        self.pool[slots] = values[self.sequence[wanted] - rows.group_starts[group]]
        self.slot[wanted] = slots


def parquet_rows(path: str | Path, columns: list[str] | tuple[str, ...],
                 buffer: int = SHUFFLE_BUFFER) -> ParquetRows:
    """The number columns ``columns`` of a Parquet file, unread (its footer only is
    read); a `DataError` when one is absent or not numbers."""
    from nnframe.extras import require

    parquet = require("pyarrow.parquet", "arrow", "reading Parquet files", package="pyarrow")
    path = Path(path)
    try:
        file = parquet.ParquetFile(path)
    except Exception as exc:  # absent, a folder, not Parquet
        raise DataError(f"{path}: not a Parquet file ({exc})") from None
    with file:
        schema = file.schema_arrow
        metadata = file.metadata
        group_rows = [metadata.row_group(g).num_rows for g in range(metadata.num_row_groups)]
    absent = [name for name in columns if name not in schema.names]
    if absent:
        raise DataError(f"{path}: no column {', '.join(map(repr, absent))}; its columns are "
                        f"{', '.join(schema.names)}")
    text = [name for name in columns
            if not str(schema.field(name).type).startswith(NUMBER_TYPES)]
    if text:
        kinds = ", ".join(f"{name!r} ({schema.field(name).type})" for name in text)
        raise DataError(f"{path}: stream reads columns of numbers, and {kinds} is not; code "
                        "it as numbers, or leave stream unset to read the file into memory")
    return ParquetRows(str(path), tuple(columns), group_rows, (len(columns),), buffer=buffer)
