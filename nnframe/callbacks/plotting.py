"""Training curves as a PNG (matplotlib, from the optional extra ``nnframe[plot]``)."""

from __future__ import annotations

import os
from pathlib import Path

from nnframe.callbacks import History
from nnframe.errors import NNFrameError
from nnframe.extras import is_installed, missing
from nnframe.modelfile.atomic import write_atomic


def require_matplotlib() -> None:
    """Raise `MissingExtraError` (saying how to install it) when matplotlib is missing;
    found without importing it, so that ``nnframe train --plot`` checks before training."""
    if not is_installed("matplotlib"):
        raise missing("plotting", "matplotlib", "plot")


def plot_history(history: History, path: str | os.PathLike) -> Path:
    """Write the loss (and accuracy) per epoch, training and validation, to a PNG file.

    The file is written beside its target and renamed into place (`nnframe.modelfile.atomic`), so
    it is never half written.
    """
    require_matplotlib()
    import matplotlib

    matplotlib.use("Agg", force=True)  # files only: no display needed
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    metrics = history.history
    panels = [name for name in ("loss", "accuracy") if name in metrics]
    figure = Figure(figsize=(5 * len(panels), 3.6), layout="constrained")
    epochs = [epoch + 1 for epoch in history.epoch]
    for index, name in enumerate(panels, start=1):
        axes = figure.add_subplot(1, len(panels), index)
        axes.plot(epochs, metrics[name], marker=".", label="training")
        if f"val_{name}" in metrics:
            axes.plot(epochs, metrics[f"val_{name}"], marker=".", label="validation")
        axes.set_xlabel("epoch")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_ylabel(name)
        axes.set_title(name)
        axes.grid(alpha=0.3)
        axes.legend()
    try:
        return write_atomic(path, lambda file: figure.savefig(file, format="png", dpi=100))
    except OSError as exc:
        raise NNFrameError(f"cannot write the plot {path}: {exc.strerror or exc}") from None
