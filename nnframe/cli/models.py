"""``nnframe export``, ``evaluate``, ``predict`` and ``summary``: using a saved model file.

The commands' work is in `nnframe.cli.inference` and `nnframe.onnx`, imported when a
command runs, so that ``nnframe --help`` imports none of it.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated

import typer

ModelArgument = Annotated[Path, typer.Argument(help="A model file written by nnframe train.",
                                               metavar="MODEL")]


def export_command(
    model: ModelArgument,
    output: Annotated[Path, typer.Argument(help="The ONNX file to write.",
                                           metavar="OUT.onnx")],
    opset: Annotated[int, typer.Option(
        "--opset", help="ONNX opset to write (17 or later).")] = 17,
) -> None:
    """Export a saved model to ONNX (needs nnframe[onnx]): input 'input', output 'output'."""
    from nnframe.cli.errors import fail
    from nnframe.cli.files import load_model
    from nnframe.modelfile.atomic import refuse_own_inputs
    from nnframe.onnx import BATCH_AXIS, INPUT_NAME, OUTPUT_NAME, export, require_onnx

    require_onnx()  # before reading anything: a missing extra is said first
    refuse_own_inputs(output, {"model file": model})
    network = load_model(model)
    if not network.built:
        raise fail(f"{model} holds a network that was never built or trained (no weights), "
                   "so there is nothing to export; train it first")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = export(network, output, opset=opset)
    for warning in caught:
        typer.echo(f"nnframe: warning: {model}: {warning.message}", err=True)
    shapes = [", ".join([BATCH_AXIS, *map(str, shape)])
              for shape in (network.input_shape, network.output_shape)]
    typer.echo(f"wrote {path}: ONNX opset {opset}, input {INPUT_NAME!r} ({shapes[0]}) and "
               f"output {OUTPUT_NAME!r} ({shapes[1]}), float32")


def evaluate_command(
    model: ModelArgument,
    dataset: Annotated[str | None, typer.Option(
        "--dataset", help="Registered data set whose test split to use (`nnframe list "
        "datasets`) [default: one that fits the model and needs no download].")] = None,
    data: Annotated[Path | None, typer.Option(
        "--data", help="A file in the model's training format (CSV, Parquet, .npz, an "
        "image folder), with its targets.", metavar="FILE")] = None,
) -> None:
    """Test a saved model: loss and metrics on a data set's test split or a file."""
    from nnframe.cli.inference import evaluate

    typer.echo(evaluate(model, dataset, data))


def predict_command(
    model: ModelArgument,
    inputs: Annotated[Path, typer.Argument(
        help="A .npy array of samples (N, *input shape) or one sample; a CSV or Parquet "
        "file with the training columns; an image or a folder of images.", metavar="FILE")],
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write the predictions to this file instead of printing "
        "them: .csv for named columns (class names and probabilities, or values), .npy "
        "for the raw outputs.")] = None,
) -> None:
    """Run a saved model on new samples: classes and probabilities, or values."""
    from nnframe.cli.inference import predict
    from nnframe.modelfile.atomic import refuse_own_inputs

    refuse_own_inputs(output, {"model file": model, "input file": inputs})
    for line in predict(model, inputs, output):
        typer.echo(line)


def summary_command(model: ModelArgument) -> None:
    """Show a saved model's layers, output shapes and parameter counts."""
    from nnframe.cli.files import load_model
    from nnframe.cli.inference import describe, nonfinite_arrays

    network = load_model(model)
    network.summary(print_fn=typer.echo)
    for line in describe(network):
        typer.echo(line)
    bad = nonfinite_arrays(network) if network.built else []
    if bad:
        typer.echo(f"nnframe: warning: {model}: the weights {', '.join(bad)} hold NaN or "
                   "infinite values; the model's outputs will not be finite", err=True)
