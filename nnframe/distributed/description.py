"""What the processes of a distributed run compare before training, so that a rank
started with other data or settings is refused: a sample of the arrays, fit's settings,
and each component of the run as one line."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from nnframe._version import __version__
from nnframe.checks.inputs import is_streamed
from nnframe.core.registry import children, component_of
from nnframe.modelfile.roundtrip import config_text

if TYPE_CHECKING:
    from nnframe.core.contracts import Callback
    from nnframe.core.network import Network
    from nnframe.core.training import Trainer


def run_record(trainer: Trainer) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The arrays (rows read from a file: a sample of them, which every process reads
    alike) and the settings of a run: fit's, and every component of the run (registered
    name, version and config: a rank started with another learning rate is refused, not
    averaged into a model that matches neither), the latter only when several processes
    train."""
    x = trainer.x
    if is_streamed(x):
        x = np.asarray(x[::max(1, len(x) // 64)])
    arrays = {"x": x, "y": trainer.y}
    if trainer.validation is not None:
        arrays.update(x_val=trainer.validation[0], y_val=trainer.validation[1])
    settings: dict[str, Any] = {name: getattr(trainer, name) for name in
                                ("epochs", "batch_size", "shuffle", "initial_epoch",
                                 "clip_norm")}
    if trainer.strategy.size > 1:
        settings.update(run_description(trainer.network, trainer.schedule,
                                        trainer.callbacks))
    return arrays, settings


def run_description(network: Network, schedule: Any, callbacks: Sequence[Callback]
                    ) -> dict[str, str]:
    """Each component of a run as one line (``"sgd from nnframe 0.4 {"learning_rate":
    0.1}"``), keyed by what it is, with nnframe's version: what the processes of a
    distributed run compare before training. Callbacks that are not registered (Ctrl-C
    handling, a display on one process) are left out."""
    def line(kind: str, component: Any) -> str:
        found = component_of(kind, component)
        name = (f"{found.name} from {found.distribution} {found.version}" if found is not None
                else type(component).__name__)
        try:
            return f"{name} {config_text(component)}"
        except (TypeError, ValueError):
            return name

    described = {"nnframe version": __version__, "loss": line("loss", network.loss),
                 "optimizer": line("optimizer", network.optimizer)}
    for index, layer in enumerate(network.layers):
        described[f"layer {index}"] = line("layer", layer)
        for key, inner in inner_layers(layer):
            described[f"layer {index}.{key}"] = line("layer", inner)
    for metric in network.metrics:
        described[f"metric {metric.name}"] = line("metric", metric)
    if schedule is not None:
        described["schedule"] = line("schedule", schedule)
    registered = [c for c in callbacks if component_of("callback", c) is not None]
    for index, callback in enumerate(registered):
        described[f"callback {index}"] = line("callback", callback)
    return described


def inner_layers(layer: Any) -> list[tuple[str, Any]]:
    found = []
    for key, child in children(layer):
        found.append((key, child))
        found += [(f"{key}.{inner}", deeper) for inner, deeper in inner_layers(child)]
    return found
