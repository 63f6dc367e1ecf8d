"""Whether a checkpoint can continue the run a training config describes.

``nnframe train --resume`` applies these checks, and Python code resuming a run applies
the same ones through `resume_from` (or `check_resumable` on a network it loaded). A
resumed run continues the checkpoint's network, optimizer state and random stream, so the
config must describe the same layers for the same input shape, and ask for more epochs than
the checkpoint has trained. The loss and optimizer saved in the file are the ones that go
on training; `kept_from_checkpoint` says so when the config names others.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from nnframe.core.registry import component_name
from nnframe.errors import ConfigError, ModelFileError
from nnframe.modelfile.save import describe_layer

if TYPE_CHECKING:
    from nnframe.config import Config
    from nnframe.core.network import Network

__all__ = ["check_resumable", "kept_from_checkpoint", "resume_from"]


def resume_from(path: str | os.PathLike[str], config: Config, input_shape: tuple[int, ...],
                *, epochs: int | None = None) -> Network:
    """The network saved at ``path``, loaded with `nnframe.load` and checked by
    `check_resumable` against ``config``, the shape of one sample of the data it will train
    on and the epoch to train up to.

    Continue it with ``network.fit(..., epochs=epochs, initial_epoch=network.epoch)`` on the
    data the run started with.
    """
    from nnframe.modelfile.load import load

    network = load(path)
    check_resumable(network, config, input_shape, epochs=epochs, source=path)
    return network


def check_resumable(network: Network, config: Config, input_shape: tuple[int, ...], *,
                    epochs: int | None = None,
                    source: str | os.PathLike[str] = "the checkpoint") -> None:
    """Refuse to continue ``network`` (a loaded checkpoint) as the run ``config`` describes.

    A `ModelFileError` when it has no loss or optimizer to train with; a `ConfigError`
    naming the first difference when the config's layers, built for samples of
    ``input_shape``, differ from the checkpoint's (type, settings, input shape), or when it
    has already trained ``epochs`` epochs. ``source`` names the checkpoint in the messages.
    """
    if network.loss is None or network.optimizer is None:
        raise ModelFileError(f"{source} has no loss or optimizer to resume training with; "
                             "resume from a file saved by nnframe train (or with "
                             "include_optimizer=True)")
    wanted = config.build_network()
    wanted.build(tuple(input_shape), seed=0)
    difference = _architecture_difference(network, wanted)
    if difference is not None:
        raise ConfigError(f"{source} was trained with other layers than {config.source} "
                          f"describes: {difference}; resume with the config it was trained "
                          "with, or train anew without --resume")
    if epochs is not None and network.epoch >= epochs:
        raise ConfigError(f"{source} has already trained {network.epoch} epochs; "
                          f"ask for more with --epochs (now {epochs})")


def _architecture_difference(saved: Network, wanted: Network) -> str | None:
    """The first way the built network ``saved`` differs from ``wanted`` (input shape, layer
    count, a layer's type or settings), or None when they are the same architecture."""
    if saved.input_shape != wanted.input_shape:
        return (f"its input shape is {saved.input_shape}, the data's is "
                f"{wanted.input_shape}")
    if len(saved.layers) != len(wanted.layers):
        return f"it has {len(saved.layers)} layers, the config {len(wanted.layers)}"
    for index, (mine, theirs) in enumerate(zip(saved.layers, wanted.layers, strict=True)):
        a, b = describe_layer(mine, f"layer {index}"), describe_layer(theirs, f"layer {index}")
        a.pop("version", None)
        b.pop("version", None)
        if a == b:
            continue
        label = f"layer {index} ({component_name('layer', mine)})"
        if (a["name"], a["distribution"]) != (b["name"], b["distribution"]):
            return f"{label} is {b['distribution']}:{b['name']} in the config"
        keys = sorted(k for k in set(a["config"]) | set(b["config"])
                      if a["config"].get(k) != b["config"].get(k))
        if keys:
            return f"{label}: " + ", ".join(
                f"{k} is {json.dumps(a['config'].get(k))} in the checkpoint but "
                f"{json.dumps(b['config'].get(k))} in the config" for k in keys)
        return f"{label} holds other inner layers"
    return None


def kept_from_checkpoint(network: Network, config: Config,
                         source: str | os.PathLike[str] = "the checkpoint") -> str | None:
    """A note saying that the checkpoint's loss and optimizer are used, when ``config``
    names others (resuming continues the saved optimizer state, so the file wins); None
    when they agree."""
    saved_loss = component_name("loss", network.loss)
    saved_optimizer = component_name("optimizer", network.optimizer)
    config_loss, config_optimizer = config.loss.create(), config.optimizer.create()
    differs = (component_name("loss", config_loss) != saved_loss
               or config_loss.get_config() != network.loss.get_config()
               or component_name("optimizer", config_optimizer) != saved_optimizer
               or config_optimizer.get_config() != network.optimizer.get_config())
    if not differs:
        return None
    return (f"note: resuming with the loss and optimizer saved in {source} ({saved_loss}; "
            f"{saved_optimizer} {_settings(network.optimizer)}), not the config's "
            f"({config.loss.name}; {config.optimizer.name} {_settings(config_optimizer)})")


def _settings(component: Any) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in component.get_config().items())
