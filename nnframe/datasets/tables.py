"""Tables of named columns read from CSV (NumPy's C ``loadtxt``) or Parquet (pyarrow).

A `Table` keeps each column as read: numbers as float64 (NaN where a value is missing),
anything else as text with a mask of the missing values. What is a feature, a category or
a target is decided later, by the reader's arguments and the model's `DataSchema`.
"""

from __future__ import annotations

import contextlib
import gzip
import os
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

import attrs
import numpy as np

from nnframe.errors import DataError
from nnframe.modelfile.regular_files import open_regular

#: Texts that mean "missing" in a CSV file unless the reader is told otherwise.
NA_VALUES = ("", "NA", "N/A", "NaN", "nan", "null", "NULL", "None")


@attrs.frozen
class Table:
    """Columns of equal length, by name, in the file's order."""

    source: str
    """The file, as messages name it."""
    columns: dict[str, np.ndarray] = attrs.field(repr=False)
    """Each column: float64 numbers (NaN: missing) or text (``str`` arrays)."""
    missing: dict[str, np.ndarray] = attrs.field(repr=False)
    """Per column, True where the value is missing."""
    first_line: int | None = 2
    """The file line of row 0 (a CSV's header is line 1); None: rows are counted from 1."""

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.columns)

    def where(self, row: int) -> str:
        """``penguins.csv: line 5`` for row 3 of the data."""
        if self.first_line is None:
            return f"{self.source}: row {row + 1}"
        return f"{self.source}: line {row + self.first_line}"

    def is_numeric(self, name: str) -> bool:
        return self.columns[name].dtype.kind == "f"

    def take(self, rows: np.ndarray) -> Table:
        """The rows at ``rows`` (positions kept for messages only when in order)."""
        return attrs.evolve(self, columns={k: v[rows] for k, v in self.columns.items()},
                            missing={k: v[rows] for k, v in self.missing.items()})

    def check_names(self, wanted: Sequence[str], what: str) -> None:
        """A `DataError` naming every column of ``wanted`` the table lacks."""
        absent = [name for name in wanted if name not in self.columns]
        if absent:
            raise DataError(f"{self.source}: no column {', '.join(map(repr, absent))} "
                            f"({what}); its columns are {', '.join(self.names)}")


def text_of_numbers(values: np.ndarray) -> np.ndarray:
    """Numbers as the text a category of them is known by: ``2007.0`` -> ``"2007"``."""
    return np.array([f"{v:.15g}" for v in values.tolist()], dtype=str)


def read_csv(path: str | os.PathLike[str], *, delimiter: str = ",",
             na_values: Sequence[str] = NA_VALUES,
             columns: Sequence[str] | None = None, header: bool = True) -> Table:
    """The columns of a CSV file (only ``columns`` when given); gzip-compressed when its
    name ends in ``.gz``. Without a ``header`` line the columns are ``column_1``, ...;
    a ``delimiter`` of ``" "`` splits on any run of whitespace.

    All-numeric data is read by ``numpy.loadtxt`` as float64 in one pass; anything else
    as text, each column then converted to numbers where every present value is one.
    """
    path = Path(path)
    split = None if delimiter == " " else delimiter
    with open_regular(path, "data file", DataError) as handle, _opened(path, handle) as file:
        first = _first_line(file, path)
        names = [str(name).strip() for name in np.atleast_1d(
            _loadtxt([first], str, split, path, 1, ndmin=1))]
        if not header:
            names = [f"column_{i + 1}" for i in range(len(names))]
            file.seek(0)
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise DataError(f"{path}: the header names {', '.join(map(repr, duplicated))} "
                            "more than once; give every column its own name")
        wanted = list(names) if columns is None else list(dict.fromkeys(columns))
        absent = [name for name in wanted if name not in names]
        if absent:
            raise DataError(f"{path}: no column {', '.join(map(repr, absent))}; its columns "
                            f"are {', '.join(names)}")
        usecols = [names.index(name) for name in wanted]
        first_line = 2 if header else 1
        start = file.tell()
        try:
            data = _loadtxt(file, np.float64, split, path, first_line, usecols)
            text = None
        except DataError:
            file.seek(start)
            data = None
            text = _loadtxt(file, str, split, path, first_line, usecols)
    columns_read: dict[str, np.ndarray] = {}
    missing: dict[str, np.ndarray] = {}
    na = np.array(sorted(set(na_values)), dtype=str)
    for position, name in enumerate(wanted):
        if data is not None:
            column = np.ascontiguousarray(data[:, position])
            columns_read[name], missing[name] = column, np.isnan(column)
            continue
        values = np.char.strip(text[:, position])
        absent_values = np.isin(values, na)
        columns_read[name], missing[name] = _as_numbers(values, absent_values), absent_values
    return Table(str(path), columns_read, missing, first_line=first_line)


def _opened(path: Path, handle: BinaryIO) -> contextlib.AbstractContextManager[BinaryIO]:
    """The file itself, or its decompressed content for a ``.gz`` name."""
    if path.suffix.lower() == ".gz":
        return gzip.GzipFile(fileobj=handle, mode="rb")
    return contextlib.nullcontext(handle)


def _first_line(file: BinaryIO, path: Path) -> str:
    try:
        line = file.readline().decode("utf-8-sig", errors="replace")
    except (OSError, EOFError) as exc:  # a corrupt .gz
        raise DataError(f"{path}: cannot be read ({exc})") from None
    if not line.strip():
        raise DataError(f"{path}: empty, or no header line with the column names")
    return line


def _as_numbers(values: np.ndarray, absent: np.ndarray) -> np.ndarray:
    """A text column as float64 (NaN where missing) when every present value is a
    number; else the text itself."""
    numbers = np.full(len(values), np.nan)
    try:
        numbers[~absent] = values[~absent].astype(np.float64)
    except ValueError:
        return values
    return numbers


def _loadtxt(source, dtype, delimiter: str | None, path: Path, first_line: int,
             usecols: Sequence[int] | None = None, ndmin: int = 2) -> np.ndarray:
    """``numpy.loadtxt`` with its errors as one `DataError` naming the file and line."""
    try:
        return np.loadtxt(source, dtype=dtype, delimiter=delimiter, quotechar='"',
                          comments=None, ndmin=ndmin,
                          usecols=usecols, encoding="utf-8")
    except ValueError as exc:
        raise DataError(f"{path}: {_with_line(str(exc), first_line)}") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text; save the CSV file as UTF-8") from None
    except (OSError, EOFError) as exc:  # a corrupt .gz
        raise DataError(f"{path}: cannot be read ({exc})") from None


def _with_line(message: str, first_line: int) -> str:
    """loadtxt counts rows from 0 after what it skipped: say the file's line instead."""
    import re

    found = re.search(r"at row (\d+)", message)
    if found is None:
        return message
    line = int(found.group(1)) + first_line
    return message[:found.start()] + f"at line {line}" + message[found.end():]


def read_parquet(path: str | os.PathLike[str], *,
                 columns: Sequence[str] | None = None) -> Table:
    """The columns of a Parquet file (pyarrow, from the ``arrow`` extra)."""
    from nnframe.extras import require

    parquet = require("pyarrow.parquet", "arrow", "reading Parquet files", package="pyarrow")
    path = Path(path)
    with open_regular(path, "data file", DataError) as file:
        try:
            names = parquet.ParquetFile(file).schema_arrow.names
            wanted = list(names) if columns is None else list(dict.fromkeys(columns))
            absent = [name for name in wanted if name not in names]
            if absent:
                raise DataError(f"{path}: no column {', '.join(map(repr, absent))}; its "
                                f"columns are {', '.join(names)}")
            file.seek(0)
            table = parquet.read_table(file, columns=wanted)
        except DataError:
            raise
        except Exception as exc:  # pyarrow's errors: a file that is not Parquet
            raise DataError(f"{path}: not a Parquet file ({exc})") from None
    columns_read: dict[str, np.ndarray] = {}
    missing: dict[str, np.ndarray] = {}
    for name in wanted:
        column = table.column(name)
        absent = column.is_null().to_numpy(zero_copy_only=False)
        kind = str(column.type)
        if kind.startswith(("int", "uint", "float", "double", "halffloat", "bool")):
            values = column.cast("float64").to_numpy(zero_copy_only=False)
            absent = absent | np.isnan(values)
        else:
            values = np.array(["" if v is None else str(v) for v in column.to_pylist()],
                              dtype=str)
        columns_read[name], missing[name] = values, absent
    return Table(str(path), columns_read, missing, first_line=None)


def read_table(path: str | os.PathLike[str], *, columns: Sequence[str] | None = None,
               delimiter: str = ",", na_values: Sequence[str] = NA_VALUES,
               header: bool = True) -> Table:
    """A CSV or Parquet file, by its suffix (``.parquet``/``.pq``: Parquet)."""
    if Path(path).suffix.lower() in (".parquet", ".pq"):
        return read_parquet(path, columns=columns)
    return read_csv(path, delimiter=delimiter, na_values=na_values, columns=columns,
                    header=header)


def read_header(path: str | os.PathLike[str], delimiter: str = ",",
                header: bool = True) -> tuple[str, ...] | None:
    """The column names of a CSV or Parquet file, read cheaply; None when it is absent."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return _parquet_names(path)
        with open_regular(path, "data file", DataError) as handle, \
                _opened(path, handle) as file:
            line = _first_line(file, path)
        names = [str(n).strip() for n in np.atleast_1d(
            _loadtxt([line], str, None if delimiter == " " else delimiter, path, 1,
                     ndmin=1))]
        return tuple(names if header else (f"column_{i + 1}" for i in range(len(names))))
    except Exception:  # describing never fails: the reader says what is wrong when it reads
        return None


def _parquet_names(path: Path) -> tuple[str, ...] | None:
    from nnframe.extras import is_installed

    if not is_installed("pyarrow"):
        return None
    import pyarrow.parquet as parquet

    return tuple(parquet.ParquetFile(path).schema_arrow.names)
