"""``nnframe train CONFIG`` and ``nnframe tune CONFIG``: training from a TOML config.

``train`` trains the network a config describes and writes the model (the work is in
`nnframe.cli.training`); ``tune`` searches the config's ``[tune]`` space on Optuna
(`nnframe.tune`). Both are imported when the command runs, so that ``nnframe --help``
imports neither.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


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


def tune_command(
    config: Annotated[Path, typer.Argument(
        help="TOML training config with a [tune] table (see docs/tracking-and-tuning.md).",
        metavar="CONFIG")],
    trials: Annotated[int, typer.Option(
        "--trials", min=1, help="Trials this process runs (other processes sharing the "
        "study add theirs).")],
    storage: Annotated[str | None, typer.Option(
        "--storage", help="Optuna storage URL shared by several processes or machines, "
        "e.g. sqlite:///study.db [default: in memory].")] = None,
    study: Annotated[str | None, typer.Option(
        "--study", help="Study name in the storage [default: the config file's name].")] = None,
    best: Annotated[Path | None, typer.Option(
        "--best", help="Write the best trial's config here [default: <config name>.best.toml]."
    )] = None,
    plot: Annotated[Path | None, typer.Option(
        "--plot", help="Also write the optimisation history to this PNG (needs "
        "nnframe[plot]).")] = None,
) -> None:
    """Search hyperparameters: train the config with values sampled from its [tune] space,
    stop unpromising trials early, print every trial and write the best config as TOML.

    Needs nnframe[tune] (Optuna). A trial whose sampled config is refused, or whose
    training diverges, is recorded as failed with its reason and the search goes on.
    """
    from nnframe.tune import TuneOptions, tune

    tune(TuneOptions(config=config, trials=trials, storage=storage, study=study, best=best,
                     plot=plot))
