"""Model files for the CLI: the one place that names the model-file API.

`save_model` and `load_model` wrap ``Network.save`` and ``nnframe.load``; warnings from a
load (a component saved with another version of its plugin) become one line on stderr each.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from nnframe.core.network import Network


def save_model(network: Network, path: Path) -> Path:
    """Write ``network`` (with its optimizer state and training position) atomically."""
    return network.save(path)


def load_model(path: Path) -> Network:
    """The network saved at ``path``; a missing or foreign file is an `NNFrameError`
    (`nnframe.load` refuses anything that is not a regular file, saying what it is)."""
    from nnframe import load
    from nnframe.errors import NonFiniteWeightsWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        network = load(path)
    for warning in caught:  # non-finite weights: each command says what that means for it
        if not issubclass(warning.category, NonFiniteWeightsWarning):
            typer.echo(f"nnframe: warning: {warning.message}", err=True)
    return network
