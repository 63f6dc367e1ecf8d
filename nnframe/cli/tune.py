"""``nnframe tune CONFIG --trials N``: search the config's ``[tune]`` space on Optuna."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nnframe.cli.app import app


@app.command("tune")
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
