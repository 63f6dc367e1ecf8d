"""What ``nnframe evaluate``, ``predict`` and ``summary`` do with a loaded model."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from nnframe.cli.modelio import load_model
from nnframe.config.data import fit_to_network
from nnframe.datasets import catalog
from nnframe.errors import DataError
from nnframe.identity import component_name
from nnframe.inputs import as_array
from nnframe.metrics import class_reader
from nnframe.network import Network
from nnframe.npz import read_npy
from nnframe.regular_files import open_regular


def evaluate(model: Path, dataset: str | None) -> str:
    """One line: the model's loss and accuracy on the test split of a data set."""
    network = _built_model(model)
    info = catalog.dataset(dataset) if dataset else catalog.for_input_shape(network.input_shape)
    x, labels = info.load("test")
    x, y = fit_to_network(network, x, labels, info)
    if network.loss is not None:
        scores = network.evaluate(x, y)
        if not math.isfinite(scores["loss"]):
            check_finite_outputs(model, network, network.predict(x))
    else:  # a model saved without a loss: accuracy only
        reader = class_reader(y, network.output_shape)
        if reader is None:
            raise DataError(f"{model} has no loss and {info.name} has no class labels: "
                            "nothing to evaluate")
        outputs = network.predict(x)
        check_finite_outputs(model, network, outputs)
        scores = {"accuracy": reader.correct(y, outputs) / len(x)}
    parts = [f"{key} {value:.2%}" if "accuracy" in key else f"{key} {value:.4f}"
             for key, value in scores.items()]
    return f"{info.name} test: {' - '.join(parts)} ({len(x):,} samples)"


def predict(model: Path, inputs: Path, output: Path | None) -> Iterator[str]:
    """Lines to print: per sample the class and its probability (classifiers) or outputs."""
    network = _built_model(model)
    x = _read_inputs(inputs, tuple(network.input_shape))
    outputs = network.predict(x)
    check_finite_outputs(model, network, outputs)
    if output is not None:
        from nnframe.cli.files import save_npy

        save_npy(output, outputs)
        yield f"wrote the outputs {outputs.shape} for {len(x):,} samples to {output}"
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


def describe(network: Network) -> Iterator[str]:
    """Lines after the summary table: loss, optimizer and epochs trained."""
    if network.loss is not None:
        yield f"Loss: {_loss_name(network)}"
    if network.optimizer is not None:
        settings = network.optimizer.get_config()
        base = network.training_state.get("base_learning_rate")
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
