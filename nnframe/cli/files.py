"""The files the CLI reads and writes: model files loaded with their warnings as lines on
stderr, and outputs written atomically (beside the target, then renamed): arrays as .npy,
named prediction columns as CSV."""

from __future__ import annotations

import csv
import io
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import typer

from nnframe.errors import NNFrameError
from nnframe.modelfile.atomic import write_atomic

if TYPE_CHECKING:
    from nnframe.core.network import Network


def load_model(path: Path) -> Network:
    """The network saved at ``path``; a missing or foreign file is an `NNFrameError`
    (`nnframe.load` refuses anything that is not a regular file, saying what it is).
    Warnings from the load (a component saved with another version of its plugin) become
    one line on stderr each."""
    from nnframe import load
    from nnframe.errors import NonFiniteWeightsWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        network = load(path)
    for warning in caught:  # non-finite weights: each command says what that means for it
        if not issubclass(warning.category, NonFiniteWeightsWarning):
            typer.echo(f"nnframe: warning: {warning.message}", err=True)
    return network


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
