"""``nnframe train CONFIG``: train the network a TOML config describes, write the model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nnframe.cli.app import app


@app.command("train")
def train_command(
    ctx: typer.Context,
    config: Annotated[Path, typer.Argument(help="TOML training config (see docs/configs.md).",
                                           metavar="CONFIG")],
    epochs: Annotated[int | None, typer.Option(
        "--epochs", min=1, help="Train this many epochs (in total, when resuming).")] = None,
    seed: Annotated[int | None, typer.Option(
        "--seed", min=0, help="Seed for initialisation and shuffling (overrides the config).",
    )] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Model file to write [default: <config name>.npz].")] = None,
    plot: Annotated[Path | None, typer.Option(
        "--plot", help="Also write the loss and accuracy curves to this PNG "
        "(needs nnframe[plot]).")] = None,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="No progress: print only the test metrics and where the model "
        "went.")] = False,
    resume: Annotated[Path | None, typer.Option(
        "--resume", help="Continue training from this checkpoint (a model file with its "
        "optimizer state).")] = None,
    checkpoint_every: Annotated[int | None, typer.Option(
        "--checkpoint-every", min=1, help="Also save the model every N epochs, so that a "
        "run can be resumed.")] = None,
) -> None:
    """Train the network a TOML config describes, show progress, test it and save it.

    Ctrl-C stops after the current batch and saves what was trained so far. Started by
    ``mpiexec -n N`` (or srun), it trains on N processes (needs nnframe[mpi]).
    """
    from nnframe.cli.training import TrainOptions, train
    from nnframe.modelfile.atomic import check_writable, refuse_own_inputs

    for label, path in (("--output", output), ("--plot", plot)):
        if path is not None:
            check_writable(path, label)
            refuse_own_inputs(path, {"config": config})
    status = train(TrainOptions(config=config, epochs=epochs, seed=seed, output=output,
                                plot=plot, quiet=quiet, resume=resume,
                                checkpoint_every=checkpoint_every,
                                debug=bool(ctx.find_root().params.get("debug"))))
    if status:
        raise typer.Exit(status)
