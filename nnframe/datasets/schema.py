"""`DataSchema`: what a model needs to read raw rows of its training format, kept in the
model file as JSON data (never code).

Fitted on the training rows only (`fit_schema`): the feature columns in order, each a
number or a category with its vocabulary (one-hot coded), the values that fill missing
ones, the class names of a classifier, and the target's mean and scale for a regression
(the network learns standardised targets; predictions come back in the user's units).
The same schema then codes validation, test and new rows alike (`DataSchema.inputs`,
`DataSchema.targets`) and turns outputs into named columns (`DataSchema.columns`).
Feature standardisation is a layer (``standardize``), so that it is part of the network.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from nnframe.datasets.raw import Raw
from nnframe.datasets.streaming import is_streamed
from nnframe.datasets.tables import Table, text_of_numbers
from nnframe.errors import DataError, ModelFileError

KINDS = ("table", "array", "images")


@attrs.frozen
class Feature:
    """One input column: a number, or a category among ``categories`` (one-hot coded)."""

    name: str
    categories: tuple[str, ...] | None = None
    fill: float | str | None = None
    """What a missing value becomes (the training rows' mean, or most frequent category)
    when the reader's ``missing`` is ``"fill"``."""

    @property
    def width(self) -> int:
        return 1 if self.categories is None else len(self.categories)


@attrs.frozen
class DataSchema:
    """How rows of one file format become a model's inputs, and outputs become answers."""

    kind: str
    """``"table"`` (CSV or Parquet columns), ``"array"`` (.npy/.npz) or ``"images"``."""
    reader: str
    """The registered reader the rows were read with (``"csv"``)."""
    features: tuple[Feature, ...] = ()
    target_names: tuple[str, ...] = ()
    """The target columns' names (tables)."""
    classes: tuple[str, ...] | None = None
    """Class names, in the order of the network's outputs; None for a regression."""
    target_mean: tuple[float, ...] | None = None
    target_scale: tuple[float, ...] | None = None
    missing: str = "error"
    reading: dict[str, Any] = attrs.field(factory=dict)
    """How to read more rows (delimiter, missing-value texts, image size and colour)."""
    seed: int | None = None
    """The seed the training run split its rows with."""

    # -- inputs -----------------------------------------------------------------------

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(feature.name for feature in self.features)

    def inputs(self, raw: Raw) -> np.ndarray:
        """The network's inputs (float32) for ``raw``'s rows (rows streamed from a file
        stay unread: each batch is converted as it is read)."""
        if is_streamed(raw.inputs):
            return raw.inputs
        if self.kind != "table":
            return np.asarray(raw.inputs, dtype=np.float32)
        table = raw.inputs
        table.check_names(self.feature_names, "a feature the model was trained on")
        width = sum(feature.width for feature in self.features)
        x = np.empty((len(table), width), dtype=np.float32)
        column = 0
        for feature in self.features:
            values = self._present(table, feature)
            if feature.categories is None:
                x[:, column] = _numbers(table, feature.name, values)
            else:
                codes = _codes(table, feature.name, _text(values), feature.categories,
                               "category")
                block = x[:, column:column + feature.width]
                block[...] = 0.0
                block[np.arange(len(codes)), codes] = 1.0
            column += feature.width
        return x

    def _present(self, table: Table, feature: Feature) -> np.ndarray:
        """The column with missing values filled, or a `DataError` naming the first."""
        values, missing = table.columns[feature.name], table.missing[feature.name]
        if not missing.any():
            return values
        if self.missing != "fill" or feature.fill is None:
            row = int(np.flatnonzero(missing)[0])
            raise DataError(f"{table.where(row)}, column {feature.name!r}: the value is "
                            f"missing ({int(missing.sum())} missing in this column); fill it "
                            "in, or train with missing = \"fill\"")
        if values.dtype.kind == "f" and isinstance(feature.fill, str):
            values = _text(values)
        if values.dtype.kind == "f":
            return np.where(missing, float(feature.fill), values)
        return np.where(missing, str(feature.fill), values)

    # -- targets ----------------------------------------------------------------------

    def targets(self, raw: Raw) -> np.ndarray:
        """The targets as the network learns them: class indices (N,), or standardised
        values ((N,) for one target, else (N, targets))."""
        if raw.targets is None:
            raise DataError(f"{raw.source}: has no targets"
                            + (f" (no column {', '.join(map(repr, self.target_names))})"
                               if self.target_names else ""))
        y = raw.targets
        if self.classes is not None:
            if raw.class_names is not None:  # indices into the data's own class names
                y = np.asarray(raw.class_names, dtype=str)[y]
            return _codes(raw, self.target_names[0] if self.target_names else "target", _text(y),
                          self.classes, "class")
        values = _numbers(raw, ", ".join(self.target_names) or "target", y)
        if self.target_mean is not None:
            values = (values - np.asarray(self.target_mean)) / np.asarray(self.target_scale)
        return values.astype(np.float32)

    def target_values(self, scaled: np.ndarray) -> np.ndarray:
        """Network outputs of a regression in the targets' own units."""
        values = np.asarray(scaled, dtype=np.float64)
        if self.target_mean is None:
            return values
        return values * np.asarray(self.target_scale) + np.asarray(self.target_mean)

    # -- reading more rows ------------------------------------------------------------

    def read(self, path: str | os.PathLike[str], targets: bool = False) -> Raw:
        """Rows of a file in the training format (another CSV, an image folder...); with
        ``targets`` the file must hold the targets too (for evaluating)."""
        return read_for_schema(self, Path(path), targets)

    # -- outputs ----------------------------------------------------------------------

    def columns(self, outputs: np.ndarray, probabilities: np.ndarray | None
                ) -> dict[str, np.ndarray]:
        """Named prediction columns: the class name and each class's probability, or the
        predicted values in the targets' units."""
        if self.classes is not None and probabilities is not None \
                and probabilities.shape[1] == len(self.classes):
            name = self.target_names[0] if self.target_names else "class"
            chosen = np.asarray(self.classes, dtype=str)[np.argmax(probabilities, axis=1)]
            columns = {name: chosen}
            for index, label in enumerate(self.classes):
                columns[f"probability_{label}"] = probabilities[:, index]
            return columns
        values = self.target_values(outputs).reshape(len(outputs), -1)
        names = list(self.target_names) if len(self.target_names) == values.shape[1] else [
            f"output_{i}" for i in range(values.shape[1])]
        return {name: values[:, i] for i, name in enumerate(names)}

    # -- model files ------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "reader": self.reader,
            "features": [{"name": f.name, "categories": _list(f.categories), "fill": f.fill}
                         for f in self.features],
            "targets": list(self.target_names), "classes": _list(self.classes),
            "target_mean": _list(self.target_mean), "target_scale": _list(self.target_scale),
            "missing": self.missing, "reading": dict(self.reading), "seed": self.seed,
        }

    @classmethod
    def from_json(cls, value: Any, where: str) -> DataSchema:
        """The schema of a model file's header, checked (a `ModelFileError` otherwise)."""
        try:
            return _from_json(value)
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            raise ModelFileError(f"{where}: the data schema in the header is malformed "
                                 f"({type(exc).__name__}: {exc})") from None


def fit_schema(raw: Raw, *, classify: bool | None = None, missing: str = "error",
               seed: int | None = None, scale_targets: bool = True) -> DataSchema:
    """The schema of ``raw``'s rows (the training split): vocabularies, fill values,
    class names and target scaling are all fitted on these rows alone.

    ``classify``: whether the targets are classes (None: when they are text, integers of
    an array, or class folders).
    """
    kind = "table" if isinstance(raw.inputs, Table) else raw.reading.get("kind", "array")
    features: tuple[Feature, ...] = ()
    if kind == "table" and is_streamed(raw.inputs):  # number columns read as training goes
        features = tuple(Feature(name) for name in raw.inputs.column_names)
    elif kind == "table":
        features = tuple(_fit_feature(raw.inputs, name, raw.reading)
                         for name in raw.inputs.names)
    classes = mean = scale = None
    if raw.targets is not None:
        y = raw.targets
        if classify is None:
            classify = raw.class_names is not None or y.dtype.kind in "USObiu"
        if classify:
            if raw.class_names is not None:
                classes = tuple(str(c) for c in raw.class_names)
            elif y.dtype.kind in "biuf":
                classes = tuple(text_of_numbers(np.unique(y[~np.isnan(y)] if y.dtype.kind
                                                          == "f" else y)))
            else:
                classes = tuple(str(c) for c in np.unique(y))
        elif scale_targets:
            values = _numbers(raw, ", ".join(raw.target_names) or "target", y)
            values = values.reshape(len(values), -1)
            mean = tuple(float(m) for m in values.mean(axis=0))
            std = values.std(axis=0)
            scale = tuple(float(s) if s > 0 else 1.0 for s in std)
    reading = {k: v for k, v in raw.reading.items() if k not in ("categorical",)}
    return DataSchema(kind=kind, reader=raw.reader, features=features,
                      target_names=tuple(raw.target_names), classes=classes, target_mean=mean,
                      target_scale=scale, missing=missing, reading=reading, seed=seed)


def _fit_feature(table: Table, name: str, reading: dict[str, Any]) -> Feature:
    values, missing = table.columns[name], table.missing[name]
    categorical = reading.get("categorical", "auto")
    listed = categorical != "auto" and name in (categorical or ())
    if values.dtype.kind == "f" and not listed:
        present = values[~missing]
        fill = float(present.mean()) if len(present) else 0.0
        return Feature(name, None, fill)
    if categorical != "auto" and not listed:
        _numbers(table, name, values)  # a text in a column not listed as categorical
    text = _text(values)[~missing]
    if not len(text):
        raise DataError(f"{table.source}: column {name!r} has no values to learn its "
                        "categories from")
    categories, counts = np.unique(text, return_counts=True)
    return Feature(name, tuple(str(c) for c in categories), str(categories[np.argmax(counts)]))


def _text(values: np.ndarray) -> np.ndarray:
    return text_of_numbers(values) if values.dtype.kind in "biuf" else values.astype(str)


def _numbers(where: Any, name: str, values: np.ndarray) -> np.ndarray:
    """``values`` as float64, or a `DataError` naming the first row that is not a number."""
    if values.dtype.kind in "biuf":
        return values.astype(np.float64)
    flat = values.reshape(len(values), -1)
    for row in range(len(flat)):
        for value in flat[row]:
            try:
                float(value)
            except ValueError:
                raise DataError(f"{where.where(row)}, column {name!r}: {str(value)!r} is "
                                "not a number; fix the value, or list the column in "
                                "categorical") from None
    return flat.astype(np.float64).reshape(values.shape)


def _codes(where: Any, name: str, text: np.ndarray, known: Sequence[str],
           what: str) -> np.ndarray:
    """Each text's index in ``known``; a `DataError` naming the first unknown one."""
    index = {value: position for position, value in enumerate(known)}
    unique, inverse = np.unique(text, return_inverse=True)
    lookup = np.array([index.get(str(value), -1) for value in unique], dtype=np.int64)
    codes = lookup[inverse.reshape(-1)] if len(unique) else np.zeros(0, np.int64)
    if (codes < 0).any():
        row = int(np.flatnonzero(codes < 0)[0])
        shown = ", ".join(known[:10]) + (", ..." if len(known) > 10 else "")
        raise DataError(f"{where.where(row)}, column {name!r}: the {what} {str(text[row])!r} "
                        f"was not in the training data (known: {shown})")
    return codes


def _list(value: Sequence[Any] | None) -> list[Any] | None:
    return None if value is None else list(value)


def _strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TypeError(f"expected a list of strings, got {value!r:.80}")
    return tuple(value)


def _floats(value: Any) -> tuple[float, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        raise TypeError(f"expected a list of numbers, got {value!r:.80}")
    return tuple(float(v) for v in value)


#: What each key of a schema's ``reading`` may hold (a model file is data from anywhere).
_READING = {
    "kind": lambda v: v in KINDS,
    "delimiter": lambda v: isinstance(v, str) and len(v) == 1,
    "na_values": lambda v: isinstance(v, list) and all(isinstance(t, str) for t in v),
    "header": lambda v: isinstance(v, bool),
    "size": lambda v: v is None or (isinstance(v, list) and len(v) == 2 and all(
        isinstance(n, int) and not isinstance(n, bool) and 0 < n <= 16384 for n in v)),
    "color": lambda v: v in ("grayscale", "rgb"),
    "scale": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "x": lambda v: isinstance(v, str),
    "y": lambda v: v is None or isinstance(v, str),
}


def _reading(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError("reading is not an object")
    for key, item in value.items():
        check = _READING.get(key)
        if check is None or not check(item):
            raise ValueError(f"reading.{key} = {item!r:.80} is not allowed")
    return value


def _from_json(value: Any) -> DataSchema:
    if not isinstance(value, dict):
        raise TypeError("not a JSON object")
    kind = value["kind"]
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    features = []
    for entry in value.get("features", []):
        categories = entry.get("categories")
        fill = entry.get("fill")
        if fill is not None and not isinstance(fill, (int, float, str)):
            raise TypeError(f"fill {fill!r:.80}")
        if not isinstance(entry["name"], str):
            raise TypeError("a feature name is not a string")
        features.append(Feature(entry["name"], None if categories is None
                                else _strings(categories), fill))
    classes = value.get("classes")
    reading = _reading(value.get("reading", {}))
    seed = value.get("seed")
    if not isinstance(value["reader"], str) or (seed is not None and not isinstance(seed, int)):
        raise TypeError("reader, reading or seed of the wrong type")
    return DataSchema(kind=kind, reader=value["reader"], features=tuple(features),
                      target_names=_strings(value.get("targets", [])),
                      classes=None if classes is None else _strings(classes),
                      target_mean=_floats(value.get("target_mean")),
                      target_scale=_floats(value.get("target_scale")),
                      missing=str(value.get("missing", "error")), reading=reading, seed=seed)


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
        from nnframe.datasets.image_files import read_images

        return read_images(path, schema.reading, labelled=targets, reader=schema.reader)
    from nnframe.datasets.array_files import load_npy, load_npz

    if path.suffix.lower() == ".npz":
        x, y = load_npz(path, schema.reading.get("x", "x"), schema.reading.get("y", "y"),
                        "input file")
    else:
        x, y = load_npy(path, "input file"), None
    if targets and y is None:
        raise DataError(f"{path}: holds no targets to evaluate on (use a .npz archive with "
                        "inputs and targets)")
    return Raw(str(path), schema.reader, x, y)
