"""Readers of the user's files as data set components: ``csv``, ``parquet``, ``npy``,
``npz`` and ``image_folder`` (see `FileDataset` for the contract)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from nnframe.datasets.readers.base import FileDataset, Raw
from nnframe.errors import DataError

if TYPE_CHECKING:
    from nnframe.datasets.schema import DataSchema


def read_for_schema(schema: DataSchema, path: Path, targets: bool) -> Raw:
    """Rows of ``path`` in the format ``schema`` was fitted on: a table (CSV, or Parquet by
    its suffix) with the feature columns in any order, extra columns ignored; an array
    (``.npy``, or ``.npz`` with the training members); an image, or a folder of images.
    """
    if schema.kind == "table":
        from nnframe.datasets.tables import NA_VALUES, read_table

        wanted = list(schema.feature_names) + (list(schema.target_names) if targets else [])
        reading = schema.reading
        table = read_table(path, columns=wanted, delimiter=reading.get("delimiter", ","),
                           na_values=reading.get("na_values", NA_VALUES),
                           header=bool(reading.get("header", True)))
        features = {name: table.columns[name] for name in schema.feature_names}
        inputs = type(table)(table.source, features,
                             {name: table.missing[name] for name in schema.feature_names},
                             table.first_line)
        y = None
        if targets:
            names = list(schema.target_names)
            for name in names:
                if table.missing[name].any():
                    row = int(np.flatnonzero(table.missing[name])[0])
                    raise DataError(f"{table.where(row)}, column {name!r}: the target is "
                                    "missing")
            y = table.columns[names[0]] if len(names) == 1 else np.stack(
                [table.columns[n] for n in names], axis=1)
        return Raw(str(path), schema.reader, inputs, y, schema.target_names)
    if schema.kind == "images":
        from nnframe.datasets.readers.images import read_images

        return read_images(path, schema.reading, labelled=targets, reader=schema.reader)
    from nnframe.datasets.readers.arrays import load_npy, load_npz

    if path.suffix.lower() == ".npz":
        x, y = load_npz(path, schema.reading.get("x", "x"), schema.reading.get("y", "y"),
                        "input file")
    else:
        x, y = load_npy(path, "input file"), None
    if targets and y is None:
        raise DataError(f"{path}: holds no targets to evaluate on (use a .npz archive with "
                        "inputs and targets)")
    return Raw(str(path), schema.reader, x, y)


__all__ = ["FileDataset", "Raw", "read_for_schema"]
