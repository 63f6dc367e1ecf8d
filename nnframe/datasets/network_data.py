"""A network and the user's data: data sets in `Network.fit` and `Network.evaluate`, and
`Network.predict_file`, which reads raw rows through the network's `DataSchema`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nnframe.datasets.schema import DataSchema, fit_schema
from nnframe.datasets.splits import split_rows
from nnframe.errors import DataError

if TYPE_CHECKING:
    from nnframe.core.network import Network


def loss_classifies(loss: Any) -> bool | None:
    """Whether a loss compares outputs with classes (it turns outputs into class
    probabilities), False when it does not, None when there is no loss."""
    if loss is None:
        return None
    convert = getattr(loss, "probabilities", None)
    if convert is None:
        return False
    try:
        return convert(np.zeros((1, 2), np.float32)) is not None
    except Exception:  # a plugin's loss is a guest: treat it as a regression
        return False


def training_arrays(network: Network, data: Any, validation_split: float,
                    seed: int | None) -> tuple[np.ndarray, np.ndarray, Any]:
    """``(x, y, validation or None)`` of a data set for `Network.fit`: a reader's rows with
    ``validation_split`` held out (drawn with ``seed``, stratified by class) and the
    network's schema fitted on the training rows (kept if it has one already)."""
    raw = data.read()
    if raw.targets is None:
        raise DataError(f"{raw.source}: no targets to train on; name the target column")
    classify = loss_classifies(network.loss)
    validation = None
    if validation_split:
        stratify = raw.targets.ndim == 1 and (classify if classify is not None else
                                              raw.targets.dtype.kind in "USObiu")
        keep, held = split_rows(len(raw), validation_split,
                                [0 if seed is None else int(seed), 2],
                                raw.targets if stratify else None, "validation")
        raw, validation = raw.take(keep), raw.take(held)
    if network.schema is None:
        network.schema = fit_schema(raw, classify=classify,
                                    missing=getattr(data, "missing", "error"), seed=seed)
    schema = network.schema
    held_out = None if validation is None else (schema.inputs(validation),
                                                schema.targets(validation))
    return schema.inputs(raw), schema.targets(raw), held_out


def evaluation_arrays(network: Network, data: Any) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and targets of a data set for `Network.evaluate`: every row of a reader's
    files, coded by the network's schema; a named data set's test split."""
    raw = data.read()
    schema = network.schema
    if schema is None:
        if raw.reading.get("kind") == "table":
            raise DataError("the network has no data schema (it was not trained on a "
                            "reader's data), so it cannot read table rows; train it with "
                            "fit(nnframe.dataset(...))")
        schema = fit_schema(raw, classify=loss_classifies(network.loss), scale_targets=False)
    return schema.inputs(raw), schema.targets(raw)


def file_arrays(network: Network, path: Path, targets: bool) -> tuple[Any, np.ndarray]:
    """``(raw rows, inputs)`` of a file in the network's training format."""
    schema = network.schema
    if schema is None:
        schema = DataSchema(kind="images" if path.suffix.lower() not in (".npy", ".npz")
                            and _looks_like_images(path) else "array", reader="npy")
    raw = schema.read(path, targets=targets)
    return raw, schema.inputs(raw)


def _looks_like_images(path: Path) -> bool:
    from nnframe.datasets.image_files import SUFFIXES

    return path.is_dir() or path.suffix.lower() in SUFFIXES


def predict_file(network: Network, path: str | os.PathLike[str],
                 batch_size: int | None = None) -> dict[str, np.ndarray]:
    """`Network.predict_file`: named prediction columns for the rows of ``path``."""
    path = Path(path)
    raw, x = file_arrays(network, path, targets=False)
    outputs = network.predict(reshaped(network, x, str(path)), batch_size)
    return prediction_columns(network, outputs, raw.names)


def reshaped(network: Network, x: np.ndarray, where: str) -> np.ndarray:
    """Samples reshaped to the network's input shape when they hold as many values."""
    wanted = tuple(network.input_shape)
    if tuple(x.shape[1:]) == wanted:
        return x
    if x.ndim >= 2 and int(np.prod(x.shape[1:])) == int(np.prod(wanted)):
        return x.reshape(len(x), *wanted)
    raise DataError(f"{where}: samples of shape {tuple(x.shape[1:])}, but the model takes "
                    f"samples of shape {wanted}")


def prediction_columns(network: Network, outputs: np.ndarray,
                       names: tuple[str, ...] | None = None) -> dict[str, np.ndarray]:
    """Outputs as named columns: ``file`` (images), then the class and its probabilities,
    or the predicted values in the targets' units."""
    columns: dict[str, np.ndarray] = {}
    if names is not None:
        columns["file"] = np.asarray(names, dtype=str)
    scores, what = class_scores(network, outputs)
    probabilities = scores if what == "probability" else None
    schema = network.schema
    if schema is not None:
        columns.update(schema.columns(outputs, probabilities))
        return columns
    if probabilities is not None:
        columns["class"] = np.argmax(probabilities, axis=1)
        columns.update({f"probability_{i}": probabilities[:, i]
                        for i in range(probabilities.shape[1])})
        return columns
    flat = outputs.reshape(len(outputs), -1)
    columns.update({f"output_{i}": flat[:, i] for i in range(flat.shape[1])})
    return columns


def class_scores(network: Network, outputs: np.ndarray) -> tuple[np.ndarray | None, str]:
    """Per-class scores (N, classes) of a classifier and what they are, or ``(None, "")``.

    The loss says how its outputs become class probabilities (``probabilities``: softmax
    of cross-entropy's logits, sigmoid of binary cross-entropy's); outputs that already are
    distributions (a softmax layer) are probabilities too. Other classifiers (such as the
    classic tanh network trained with MSE on one-hot rows) give their raw outputs,
    labelled ``output``.
    """
    if outputs.ndim != 2:
        return None, ""
    convert = getattr(network.loss, "probabilities", None)
    probabilities = convert(outputs) if convert is not None else None
    if probabilities is not None:
        probabilities = np.asarray(probabilities, dtype=np.float64)
        if probabilities.shape[1] == 1:  # one unit: the probability of class 1
            probabilities = np.concatenate([1.0 - probabilities, probabilities], axis=1)
        return probabilities, "probability"
    rows = outputs.astype(np.float64)
    if rows.shape[1] == 1:
        return None, ""
    if (rows >= 0).all() and np.allclose(rows.sum(axis=1), 1.0, atol=1e-4):
        return rows, "probability"
    return rows, "output"
