"""``nnframe evaluate``, ``predict`` and ``summary``: using a saved model file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nnframe.cli.app import app

ModelArgument = Annotated[Path, typer.Argument(help="A model file written by nnframe train.",
                                               metavar="MODEL")]


@app.command("evaluate")
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


@app.command("predict")
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


@app.command("summary")
def summary_command(model: ModelArgument) -> None:
    """Show a saved model's layers, output shapes and parameter counts."""
    from nnframe.cli.inference import describe, nonfinite_arrays
    from nnframe.cli.modelio import load_model

    network = load_model(model)
    network.summary(print_fn=typer.echo)
    for line in describe(network):
        typer.echo(line)
    bad = nonfinite_arrays(network) if network.built else []
    if bad:
        typer.echo(f"nnframe: warning: {model}: the weights {', '.join(bad)} hold NaN or "
                   "infinite values; the model's outputs will not be finite", err=True)
