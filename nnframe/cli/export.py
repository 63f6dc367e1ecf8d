"""``nnframe export``: a saved model as an ONNX model, for onnxruntime and friends."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated

import typer

from nnframe.cli.app import app


@app.command("export")
def export_command(
    model: Annotated[Path, typer.Argument(help="A model file written by nnframe train.",
                                          metavar="MODEL")],
    output: Annotated[Path, typer.Argument(help="The ONNX file to write.",
                                           metavar="OUT.onnx")],
    opset: Annotated[int, typer.Option(
        "--opset", help="ONNX opset to write (17 or later).")] = 17,
) -> None:
    """Export a saved model to ONNX (needs nnframe[onnx]): input 'input', output 'output'."""
    from nnframe.cli.app import fail
    from nnframe.cli.modelio import load_model
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
