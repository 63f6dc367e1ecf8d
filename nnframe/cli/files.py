"""Writing the CLI's outputs atomically (beside the target, then renamed): arrays as .npy,
named prediction columns as CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from nnframe.errors import NNFrameError
from nnframe.modelfile.atomic import write_atomic


def save_npy(path: Path, array: np.ndarray) -> Path:
    """Write ``array`` as a .npy file at ``path``; a failure leaves no partial file."""
    try:
        return write_atomic(path, lambda file: np.save(file, array, allow_pickle=False))
    except OSError as exc:
        raise NNFrameError(f"cannot write {path}: {exc.strerror or exc}") from None


def csv_lines(columns: dict[str, np.ndarray]) -> Iterator[str]:
    """Named columns as CSV lines, header first (floats with 6 significant digits)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(list(columns))
    yield buffer.getvalue().rstrip("\n")
    cells = [_cells(values) for values in columns.values()]
    for row in zip(*cells, strict=True):
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(row)
        yield buffer.getvalue().rstrip("\n")


def _cells(values: np.ndarray) -> list[str]:
    if values.dtype.kind == "f":
        return [f"{v:.6g}" for v in values.tolist()]
    return [str(v) for v in values.tolist()]


def save_csv(path: Path, columns: dict[str, np.ndarray]) -> Path:
    """Write named columns as a CSV file at ``path``; a failure leaves no partial file."""
    def write(file) -> None:
        text = "".join(line + "\n" for line in csv_lines(columns))
        file.write(text.encode("utf-8"))

    try:
        return write_atomic(path, write)
    except OSError as exc:
        raise NNFrameError(f"cannot write {path}: {exc.strerror or exc}") from None
