"""What ``nnframe evaluate``, ``predict`` and ``summary`` do with a loaded model."""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from nnframe.checks.inputs import as_array
from nnframe.cli.files import csv_lines, load_model
from nnframe.config.data import fit_arrays, fit_to_network
from nnframe.core.network import Network
from nnframe.core.registry import component_name
from nnframe.datasets import catalog
from nnframe.datasets.network_data import (
    class_scores,
    file_arrays,
    prediction_columns,
    reshaped,
)
from nnframe.errors import DataError
from nnframe.metrics import class_reader
from nnframe.modelfile.npz import read_npy
from nnframe.modelfile.regular_files import open_regular


def evaluate(model: Path, dataset: str | None, data: Path | None = None) -> str:
    """One line: the model's loss and accuracy on a data set's test split, or on the rows
    of a file in its training format (``--data``)."""
    network = _built_model(model)
    if data is not None:
        if dataset is not None:
            raise DataError("give either --dataset or --data, not both")
        return _evaluate_file(model, network, data)
    if dataset is None and network.schema is not None:
        raise DataError(f"{model} was trained on {network.schema.reader} data; evaluate it "
                        "on a file of that format with --data FILE")
    skipped: list[str] = []
    info = catalog.dataset(dataset) if dataset else catalog.for_input_shape(
        network.input_shape, skipped)
    for line in skipped:
        print(f"nnframe: warning: {line}", file=sys.stderr)
    x, labels = info.load("test")
    x, y = fit_to_network(network, x, labels, info)
    return f"{info.name} test: {_score_line(model, network, x, y, info.name)}"


def _evaluate_file(model: Path, network: Network, path: Path) -> str:
    raw, x = file_arrays(network, path, targets=True)
    schema = network.schema
    y = schema.targets(raw) if schema is not None else raw.targets
    x = reshaped(network, x, str(path))
    classes = None if schema is None or schema.classes is None else len(schema.classes)
    x, y = fit_arrays(network, x, y, classes, str(path))
    return f"{path.name}: {_score_line(model, network, x, y, str(path))}"


def _score_line(model: Path, network: Network, x: np.ndarray, y: np.ndarray,
                name: str) -> str:
    if network.loss is not None:
        scores = network.evaluate(x, y)
        if not math.isfinite(scores["loss"]):
            check_finite_outputs(model, network, network.predict(x))
    else:  # a model saved without a loss: accuracy only
        reader = class_reader(y, network.output_shape)
        if reader is None:
            raise DataError(f"{model} has no loss and {name} has no class labels: "
                            "nothing to evaluate")
        outputs = network.predict(x)
        check_finite_outputs(model, network, outputs)
        scores = {"accuracy": reader.correct(y, outputs) / len(x)}
    schema = network.schema
    if schema is not None and schema.classes is None and y.dtype.kind == "f":
        scores["r2"] = r_squared(y, network.predict(x))
    parts = [f"{key} {value:.2%}" if "accuracy" in key else f"{key} {value:.4f}"
             for key, value in scores.items()]
    return f"{' - '.join(parts)} ({len(x):,} samples)"


def r_squared(y: np.ndarray, outputs: np.ndarray) -> float:
    """The coefficient of determination, 1 - SSE / SST over every target (scale-free)."""
    y = y.reshape(len(y), -1).astype(np.float64)
    outputs = outputs.reshape(len(outputs), -1).astype(np.float64)
    total = ((y - y.mean(axis=0)) ** 2).sum()
    return float(1.0 - ((y - outputs) ** 2).sum() / total) if total > 0 else float("nan")


def predict(model: Path, inputs: Path, output: Path | None) -> Iterator[str]:
    """Lines to print: per sample the class and its probability (classifiers) or outputs;
    for a CSV, Parquet or image input, a CSV of named columns (printed, or written to
    ``output``)."""
    network = _built_model(model)
    if _reads_rows(network, inputs):
        yield from _predict_file(model, network, inputs, output)
        return
    x = _read_inputs(inputs, tuple(network.input_shape))
    outputs = network.predict(x)
    check_finite_outputs(model, network, outputs)
    if output is not None:
        yield _write_outputs(network, outputs, output)
        return
    scores, column = class_scores(network, outputs)
    if scores is None:
        yield "sample  output"
        for index, row in enumerate(outputs.reshape(len(outputs), -1)):
            yield f"{index:>6}  {' '.join(f'{v:.4f}' for v in row)}"
        return
    classes = np.argmax(scores, axis=1)
    yield f"sample  class  {column}"
    for index, (label, row) in enumerate(zip(classes, scores, strict=True)):
        yield f"{index:>6}  {label:>5}  {row[label]:.4f}"


def _reads_rows(network: Network, inputs: Path) -> bool:
    """Whether ``inputs`` is read through the model's data schema: anything but a .npy
    array of the network's own inputs."""
    return inputs.suffix.lower() != ".npy"


def _predict_file(model: Path, network: Network, inputs: Path,
                  output: Path | None) -> Iterator[str]:
    raw, x = file_arrays(network, inputs, targets=False)
    outputs = network.predict(reshaped(network, x, str(inputs)))
    check_finite_outputs(model, network, outputs)
    if output is not None and output.suffix.lower() == ".npy":
        yield _write_outputs(network, outputs, output)
        return
    columns = prediction_columns(network, outputs, raw.names)
    if output is None:
        yield from csv_lines(columns)
        return
    from nnframe.cli.files import save_csv

    save_csv(output, columns)
    yield f"wrote predictions for {len(outputs):,} samples to {output}"


def _write_outputs(network: Network, outputs: np.ndarray, output: Path) -> str:
    """The outputs as a .npy array, or (``.csv``) as named columns."""
    if output.suffix.lower() == ".csv":
        from nnframe.cli.files import save_csv

        save_csv(output, prediction_columns(network, outputs))
    else:
        from nnframe.cli.files import save_npy

        save_npy(output, outputs)
    return f"wrote the outputs {outputs.shape} for {len(outputs):,} samples to {output}"


def check_finite_outputs(model: Path, network: Network, outputs: np.ndarray) -> None:
    """A `DataError` when the model's outputs hold NaN or infinity, saying why: weights
    that are not finite (a diverged run was saved), or inputs it cannot handle."""
    if outputs.dtype.kind != "f" or np.isfinite(outputs).all():
        return
    bad = nonfinite_arrays(network)
    if bad:
        shown = ", ".join(bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
        raise DataError(f"{model}: the model's outputs are not finite: its weights hold NaN "
                        f"or infinite values ({shown}); retrain it or load another file")
    raise DataError(f"{model}: the model's outputs are not finite (NaN or infinite) for these "
                    "inputs, although its weights are finite; check that the inputs are "
                    "scaled as in training")


def nonfinite_arrays(network: Network) -> list[str]:
    """The keys (``"<layer>.<name>"``) of the weights and layer state holding NaN or inf."""
    bad = [p.key for p in network.parameters()
           if p.value.dtype.kind == "f" and not np.isfinite(p.value).all()]
    for index, layer in enumerate(network.layers):
        for name, value in (getattr(layer, "state", None) or {}).items():
            array = np.asarray(value)
            if array.dtype.kind == "f" and not np.isfinite(array).all():
                bad.append(f"{index}.{name}")
    return bad


def describe(network: Network) -> Iterator[str]:
    """Lines after the summary table: loss, optimizer and epochs trained."""
    if network.loss is not None:
        yield f"Loss: {_loss_name(network)}"
    if network.optimizer is not None:
        settings = network.optimizer.get_config()
        base = network.train_state.base_learning_rate
        scheduled = None  # a schedule's last rate is not the rate the optimizer was given
        if base is not None and settings.get("learning_rate") != base:
            scheduled, settings["learning_rate"] = settings.get("learning_rate"), base
        config = ", ".join(f"{k}={v!r}" for k, v in settings.items())
        line = f"Optimizer: {component_name('optimizer', network.optimizer)}({config})"
        if scheduled is not None:
            line += f"; the schedule's rate at the last step trained was {scheduled:g}"
        yield line
    if network.metrics:
        yield f"Metrics: {', '.join(metric.name for metric in network.metrics)}"
    yield f"Epochs trained: {network.epoch}"


def _built_model(path: Path) -> Network:
    network = load_model(path)
    if not network.built:
        raise DataError(f"{path} holds a network that was never built or trained (no "
                        "weights); train it first")
    return network


def _loss_name(network: Network) -> str | None:
    return None if network.loss is None else component_name("loss", network.loss)


def _read_inputs(path: Path, input_shape: tuple[int, ...]) -> np.ndarray:
    """The samples of a .npy file as a batch for ``input_shape``, or a one-line error."""
    with open_regular(path, "input file", DataError) as file:
        x = read_npy(file, str(path))
    if x.dtype.kind not in "biuf":
        raise DataError(f"{path}: holds {x.dtype} values, not numbers")
    sample = int(np.prod(input_shape))
    if x.shape == input_shape:
        batch = x[np.newaxis]
    elif x.ndim >= 2 and int(np.prod(x.shape[1:])) == sample:
        batch = x.reshape(len(x), *input_shape)
    elif x.size == sample:
        batch = x.reshape(1, *input_shape)
    else:
        shape = ", ".join(map(str, ("N", *input_shape)))
        raise DataError(f"{path}: holds an array of shape {x.shape}, but the model takes "
                        f"samples of shape {input_shape}; give an array ({shape}) or one sample")
    return as_array(batch, str(path), purpose="predicting")  # NaN: say so, naming the file
