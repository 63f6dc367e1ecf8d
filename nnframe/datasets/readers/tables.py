"""The ``csv`` and ``parquet`` readers: named columns, one or more of them the target."""

from __future__ import annotations

from typing import Any, ClassVar

import attrs
import numpy as np

from nnframe.datasets.parquet_stream import SHUFFLE_BUFFER, parquet_rows
from nnframe.datasets.readers.base import (
    FileDataset,
    Raw,
    as_names,
    as_path_text,
    check_missing,
    check_stream,
)
from nnframe.datasets.streaming import streams
from nnframe.datasets.tables import NA_VALUES, Table, read_header, read_table
from nnframe.errors import ConfigError, DataError

#: At most this many rows are named in an error about missing values.
SHOWN_ROWS = 5


def _names_or_none(instance: Any, attribute: Any, value: Any) -> None:
    if value is not None and not (isinstance(value, tuple) and all(
            isinstance(v, str) for v in value)):
        error = ConfigError(f"{type(instance).name}: {attribute.name} must be a column name "
                            f"or a list of them, got {value!r}")
        error.argument = attribute.name
        raise error


def _categorical(instance: Any, attribute: Any, value: Any) -> None:
    if value != "auto":
        _names_or_none(instance, attribute, value)


@attrs.define(eq=False)
class _TableReader(FileDataset):
    """Shared by ``csv`` and ``parquet``: which columns are features and target, which
    are categories, and what missing values do."""

    path: str = attrs.field(converter=as_path_text)
    target: tuple[str, ...] | None = attrs.field(default=None, converter=as_names,
                                                 validator=_names_or_none)
    features: tuple[str, ...] | None = attrs.field(default=None, converter=as_names,
                                                   validator=_names_or_none)
    drop: tuple[str, ...] = attrs.field(default=(), converter=as_names,
                                        validator=_names_or_none)
    categorical: Any = attrs.field(default="auto", converter=lambda v: v if v == "auto"
                                   else as_names(v), validator=_categorical)
    missing: str = attrs.field(default="error", validator=check_missing)

    def _header(self) -> tuple[str, ...] | None:
        return read_header(self.path)

    def describe(self) -> dict[str, Any]:
        """The reader, its file, and the columns when the file is there (header only)."""
        info = super().describe()
        info["columns"] = list(self._header() or ())
        info["target"] = list(self.target or ())
        return info

    def _read_table(self, columns: list[str]) -> Table:
        raise NotImplementedError

    def _reading(self) -> dict[str, Any]:
        return {}

    def read(self) -> Raw:
        features, targets = self._columns()
        table = self._read_table(features + targets)
        table = self._handle_missing(table, features, targets)
        inputs = attrs.evolve(table, columns={n: table.columns[n] for n in features},
                              missing={n: table.missing[n] for n in features})
        y = None
        if targets:
            y = table.columns[targets[0]] if len(targets) == 1 else np.stack(
                [_numeric(table, n) for n in targets], axis=1)
        return Raw(self.path, self.name, inputs, y, tuple(targets), reading=self._kind())

    def _kind(self) -> dict[str, Any]:
        return {"kind": "table", **self._reading(),
                "categorical": "auto" if self.categorical == "auto"
                else list(self.categorical)}

    def _columns(self) -> tuple[list[str], list[str]]:
        """The feature and target columns (a `DataError` when they make no sense)."""
        targets = list(self.target or ())
        if self.features is not None:
            features = list(self.features)
        else:  # the header names the columns (an absent file: reading it says so)
            names = self._header() or self._read_table(None).names
            features = [n for n in names if n not in targets and n not in self.drop]
        overlap = sorted(set(features) & set(targets))
        if overlap:
            raise DataError(f"{self.path}: {', '.join(map(repr, overlap))} is both a feature "
                            "and the target; leave it out of features")
        if not features:
            raise DataError(f"{self.path}: no feature columns left (target "
                            f"{', '.join(targets)}, drop {', '.join(self.drop)})")
        if self.categorical != "auto":
            unknown = sorted(set(self.categorical) - set(features))
            if unknown:
                raise DataError(f"{self.path}: categorical names {', '.join(map(repr, unknown))}"
                                f", which are not feature columns ({', '.join(features)})")
        return features, targets

    def _handle_missing(self, table: Table, features: list[str],
                        targets: list[str]) -> Table:
        """Rows with a missing value: named in an error, dropped, or kept to be filled
        (a missing target is never filled)."""
        checked = targets if self.missing == "fill" else features + targets
        masks = {n: table.missing[n] for n in checked if table.missing[n].any()}
        if not masks:
            return table
        bad = np.logical_or.reduce(list(masks.values()))
        if self.missing == "drop":
            kept = np.flatnonzero(~bad)
            if not len(kept):
                raise DataError(f"{self.path}: every row has a missing value")
            return table.take(kept)
        rows = np.flatnonzero(bad)
        shown = "; ".join(f"{table.where(int(r)).split(': ', 1)[1]} "
                          f"({', '.join(n for n, m in masks.items() if m[r])})"
                          for r in rows[:SHOWN_ROWS])
        more = f" and {len(rows) - SHOWN_ROWS} more" if len(rows) > SHOWN_ROWS else ""
        what = "targets" if self.missing == "fill" else "values"
        fix = ('missing = "drop" leaves them out' if self.missing == "fill" else
               'missing = "drop" leaves them out, "fill" fills them from the training rows')
        raise DataError(f"{self.path}: {len(rows)} rows have missing {what}: {shown}{more}; "
                        f"{fix}")


def _numeric(table: Table, name: str) -> np.ndarray:
    if not table.is_numeric(name):
        raise DataError(f"{table.source}: the target column {name!r} is not numbers; "
                        "several targets must all be numbers")
    return table.columns[name]


@attrs.define(eq=False)
class CSV(_TableReader):
    """Rows of a CSV file (NumPy's loadtxt; no extra needed; ``.gz`` read compressed).

    ``target``: the target column (a list for several outputs); ``features``: the input
    columns (default: every other column but ``drop``); ``categorical``: columns of
    categories, or ``"auto"`` (every column that is not numbers); ``missing``:
    ``"error"`` (default, naming the rows), ``"drop"`` or ``"fill"``; ``delimiter``
    (``" "``: any run of whitespace); ``na_values``: the texts that mean missing;
    ``header``: whether the first line names the columns (else ``column_1``, ...);
    ``target_file``: the targets in a second file, row for row; ``stream``: reserved
    (the data is read into memory).
    """

    name: ClassVar[str] = "csv"
    path_arguments: ClassVar[tuple[str, ...]] = ("path", "target_file")
    #: Building reads nothing, so the kit checks it with paths that need not exist.
    check_hints: ClassVar[dict] = {"config": {"path": "data.csv", "target": "label"}}

    delimiter: str = attrs.field(default=",")
    na_values: tuple[str, ...] = attrs.field(default=NA_VALUES, converter=as_names)
    header: bool = True
    target_file: str | None = attrs.field(default=None, converter=as_path_text)
    stream: bool | None = attrs.field(default=None, validator=check_stream)

    def _header(self) -> tuple[str, ...] | None:
        return read_header(self.path, self.delimiter, self.header)

    def _read_table(self, columns: list[str] | None) -> Table:
        return read_table(self.path, columns=columns, delimiter=self.delimiter,
                          na_values=self.na_values, header=self.header)

    def _reading(self) -> dict[str, Any]:
        return {"delimiter": self.delimiter, "na_values": list(self.na_values),
                "header": self.header}

    def read(self) -> Raw:
        """The rows; with ``target_file``, the targets are that file's columns (``target``
        names them, default all), row for row."""
        if self.target_file is None:
            return super().read()
        targets = read_table(self.target_file, columns=list(self.target) if self.target
                             else None, delimiter=self.delimiter, na_values=self.na_values,
                             header=self.header)
        inputs = attrs.evolve(self, target=None, target_file=None).read()
        if len(targets) != len(inputs):
            raise DataError(f"{self.target_file}: {len(targets)} rows of targets for "
                            f"{len(inputs)} rows of {self.path}; give one target row per row")
        for name in targets.names:
            if targets.missing[name].any():
                row = int(np.flatnonzero(targets.missing[name])[0])
                raise DataError(f"{targets.where(row)}, column {name!r}: the target is "
                                "missing")
        names = targets.names if self.header or self.target else (
            ("target",) if len(targets.names) == 1
            else tuple(f"target_{i + 1}" for i in range(len(targets.names))))
        y = targets.columns[targets.names[0]] if len(names) == 1 else np.stack(
            [_numeric(targets, n) for n in targets.names], axis=1)
        return attrs.evolve(inputs, targets=y, target_names=tuple(names))


def _buffer(instance: Any, attribute: Any, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        error = ConfigError(f"{type(instance).name}: shuffle_buffer must be a number of rows "
                            f"(0 or more), got {value!r}")
        error.argument = attribute.name
        raise error


@attrs.define(eq=False)
class Parquet(_TableReader):
    """Rows of a Parquet file (pyarrow, from the ``arrow`` extra).

    Arguments as ``csv``'s (``target``, ``features``, ``drop``, ``categorical``,
    ``missing``); missing values are Parquet's nulls (and NaN). ``stream``: read the
    feature columns (numbers) row group by row group as training goes (unset: when they
    would not fit, see `nnframe.datasets.streaming.streams`), shuffled through a buffer of
    ``shuffle_buffer`` rows (default 10,000; see `nnframe.datasets.parquet_stream`); the
    targets are read into memory.
    """

    name: ClassVar[str] = "parquet"
    streams: ClassVar[bool] = True
    #: Building reads nothing, so the kit checks it with paths that need not exist.
    check_hints: ClassVar[dict] = {"config": {"path": "data.parquet", "target": "label"}}

    stream: bool | None = attrs.field(default=None, validator=check_stream)
    shuffle_buffer: int = attrs.field(default=SHUFFLE_BUFFER, validator=_buffer)

    def read(self) -> Raw:
        """Every row; with ``stream`` (or unset, when the inputs would not fit) the
        feature columns stay in the file and only the targets are read."""
        if self.stream is False:
            return super().read()
        features, targets = self._columns()
        if self.stream is None and (self.missing != "error" or self.categorical != "auto"
                                    or not targets):
            return super().read()  # what streaming cannot do is read into memory
        try:
            rows = parquet_rows(self.path, features, self.shuffle_buffer)
        except DataError:
            if self.stream:
                raise
            return super().read()  # text columns, say: the in-memory reader codes them
        if not streams(self.stream, rows):
            return super().read()
        if self.missing != "error":
            raise DataError(f"{self.path}: missing = {self.missing!r} needs every row in "
                            "memory; with stream = true a missing value stops training with "
                            "its row named (leave missing unset, or stream unset)")
        if self.categorical != "auto":
            raise DataError(f"{self.path}: stream reads columns of numbers, so it codes no "
                            "categories; leave categorical unset, or stream unset")
        if not targets:
            raise DataError(f"{self.path}: stream = true reads the features as training "
                            "goes and needs a target column to train on; name it with target")
        table = self._read_table(targets)
        for name in targets:
            if table.missing[name].any():
                row = int(np.flatnonzero(table.missing[name])[0])
                raise DataError(f"{table.where(row)}, column {name!r}: the target is "
                                "missing; fill it in, or leave stream unset and read with "
                                "missing = \"drop\"")
        y = table.columns[targets[0]] if len(targets) == 1 else np.stack(
            [_numeric(table, n) for n in targets], axis=1)
        return Raw(self.path, self.name, rows, y, tuple(targets), reading=self._kind())

    def _read_table(self, columns: list[str] | None) -> Table:
        from nnframe.datasets.tables import read_parquet

        return read_parquet(self.path, columns=columns)
