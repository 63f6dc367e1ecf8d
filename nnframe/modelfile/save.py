"""Writing a network to a model file (`Network.save`): encode, check, write atomically.

Every component is written under the registered name it was built as, with its config,
and checked first: the registered factory, given that config, must rebuild an equal
component (a layer: the same outputs from the same weights and state). What cannot be
rebuilt is refused with a message saying what to do, never saved wrong.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nnframe._version import __version__
from nnframe.core.registry import component_of, layer_label
from nnframe.errors import ModelFileError
from nnframe.modelfile.atomic import write_atomic
from nnframe.modelfile.format import (
    FORMAT_NAME,
    FORMAT_VERSION,
    HEADER_KEY,
    OPTIMIZER_PREFIX,
    PARAMS_PREFIX,
    STATE_PREFIX,
    header_bytes,
)
from nnframe.modelfile.npz import write_npz
from nnframe.modelfile.roundtrip import (
    config_text,
    layer_mismatch,
    nested,
    rebuild,
    setting_mismatch,
)

if TYPE_CHECKING:
    from nnframe.core.network import Network
    from nnframe.core.training import TrainState

#: Layers a caller saw pass the rebuild check, by id: (the layer, its config text then).
Verified = dict[int, tuple[Any, str]]


def save_network(network: Network, path: str | os.PathLike[str], *,
                 include_optimizer: bool = True, verified: Verified | None = None) -> Path:
    """Write ``network`` to ``path`` atomically and return the path (`Network.save`).
    ``verified``: see `check_layers_rebuild`."""
    header, arrays = encode(network, include_optimizer=include_optimizer, verified=verified)
    contents = {HEADER_KEY: header_bytes(header), **arrays}
    try:
        return write_atomic(path, lambda file: write_npz(file, contents))
    except OSError as exc:
        raise ModelFileError(f"could not write the model file {path}: "
                             f"{exc.strerror or exc}; any previous file there is unchanged"
                             ) from exc


def encode(network: Network, *, include_optimizer: bool = True,
           verified: Verified | None = None) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The JSON header and the arrays that describe ``network``."""
    layers = [describe_layer(layer, layer_label(index, layer))
              for index, layer in enumerate(network.layers)]
    arrays: dict[str, np.ndarray] = {}
    if network.built:
        check_layers_rebuild(network, verified)
        arrays.update({PARAMS_PREFIX + p.key: p.value for p in network.parameters()})
        arrays.update({STATE_PREFIX + key: np.asarray(value)
                       for key, value in network.state().items()})
    header: dict[str, Any] = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "nnframe_version": __version__,
        "dtype": network.dtype.name,
        "input_shape": list(network.input_shape) if network.built else None,
        "layers": layers,
        "loss": None if network.loss is None else describe(
            "loss", network.loss, "the loss", check=True),
        "metrics": [describe("metric", metric, f"metric {metric.name!r}", check=True)
                    for metric in network.metrics],
        "optimizer": None,
        "training": None,
    }
    if getattr(network, "schema", None) is not None:
        header["data"] = network.schema.to_json()
    if include_optimizer and network.optimizer is not None:
        entry = describe("optimizer", network.optimizer, "the optimizer", check=True)
        state = dict(network.optimizer.state_dict())
        entry["state"] = list(state)
        arrays.update({OPTIMIZER_PREFIX + key: np.asarray(value) for key, value in state.items()})
        header["optimizer"] = entry
    if include_optimizer and network.built:
        state = network.train_state
        training: dict[str, Any] = {"epoch": int(state.epoch),
                                    "rng": network.rng.bit_generator.state}
        if state.inside_epoch:
            training["resume_point"] = state.resume_point()
        notes = _state_entry(state)
        if notes:
            training["state"] = notes
        header["training"] = training
    return header, arrays


def describe(kind: str, component: Any, where: str, *, check: bool = False) -> dict[str, Any]:
    """``{"name", "distribution", "version", "config"}`` of a registered component; with
    ``check``, also proves that its config rebuilds it (see `nnframe.modelfile.roundtrip`)."""
    found = component_of(kind, component)
    cls = type(component)
    if found is None:
        raise ModelFileError(
            f"cannot save {where}: {cls.__module__}.{cls.__qualname__} is not a registered "
            f"{kind}, so a model file could not rebuild it; register it through a plugin's "
            f"register_{kind_plural(kind)} hook and build it by name, e.g. "
            f"nnframe.create({kind!r}, name)"
        )
    try:
        text = config_text(component)
    except (TypeError, ValueError, NotImplementedError) as exc:
        raise ModelFileError(f"cannot save {where} ({found.name}): {exc}; get_config() must "
                             "return plain numbers, strings, booleans, None, lists and dicts "
                             "that rebuild it") from None
    if check:
        _check_settings(found, component, text, where)
    return {"name": found.name, "distribution": found.distribution,
            "version": found.version, "config": json.loads(text)}


def describe_layer(layer: Any, where: str) -> dict[str, Any]:
    """A layer's entry; a composite's holds its inner layers' entries under ``layers``
    (or ``branches``) instead of their type tables."""
    entry = describe("layer", layer, where)
    inner = nested(layer)
    if inner is not None:
        attribute, held = inner
        entry["config"].pop(attribute, None)
        if attribute == "layers":
            entry["layers"] = [describe_layer(child, f"{where}, inner layer {i}")
                               for i, child in enumerate(held)]
        else:
            entry["branches"] = [
                [describe_layer(child, f"{where}, branch {b} layer {i}")
                 for i, child in enumerate(branch)]
                for b, branch in enumerate(held)]
    return entry


def check_layers_rebuild(network: Network, verified: Verified | None = None) -> None:
    """Refuse any layer that its registered factory would not rebuild from its config.

    A probe batch runs through the network; each layer is compared with its twin rebuilt
    from the config on the input it really gets. The probe must stay: a config that
    rebuilds a layer of the same class and shapes can still leave out an argument that
    changes what it computes (an activation, an epsilon), which only running both shows.
    ``verified`` (kept by a caller that saves the same network again and again, such as
    `ModelCheckpoint`) skips the layers that passed with the config they have now, and
    records those that pass; nothing is cached otherwise.
    """
    rng = np.random.default_rng(0)
    shape = network.input_shape
    probe = rng.integers(0, 2, (2, *shape)).astype(network.dtype)
    for index, layer in enumerate(network.layers):
        where = layer_label(index, layer)
        text = config_text(layer)
        seen = None if verified is None else verified.get(id(layer))
        if seen is None or seen[0] is not layer or seen[1] != text:
            _check_layer(index, layer, text, shape, probe, network.dtype, where)
            if verified is not None:
                verified[id(layer)] = (layer, text)
        shape = tuple(layer.output_shape(shape))
        try:
            probe = np.asarray(layer.forward(probe, training=False))
        except Exception:  # a probe this layer rejects: go on with a fresh one
            probe = rng.integers(0, 2, (2, *shape)).astype(network.dtype)


def _check_layer(index: int, layer: Any, text: str, shape: tuple[int, ...],
                 probe: np.ndarray, dtype: np.dtype, where: str) -> None:
    found = component_of("layer", layer)
    try:
        twin = rebuild(layer, found.factory)
        problem = layer_mismatch(layer, twin, shape, probe, dtype)
    except Exception as exc:  # plugin code given its own config
        problem = f"rebuilding it raised {type(exc).__name__}: {exc}"
    if problem is not None:
        raise ModelFileError(
            f"cannot save {where}: rebuilt from its config {text}, {problem}. Its "
            "get_config() must return the constructor arguments that rebuild it (keep each "
            "argument under its own name, use an attrs class, or override get_config); "
            "nothing was written")


def _check_settings(found: Any, component: Any, text: str, where: str) -> None:
    try:
        problem = setting_mismatch(component, rebuild(component, found.factory))
    except Exception as exc:  # plugin code given its own config
        problem = f"rebuilding it raised {type(exc).__name__}: {exc}"
    if problem is not None:
        raise ModelFileError(
            f"cannot save {where} ({found.name}): rebuilt from its config {text}, {problem}; "
            "its get_config() must return the arguments that rebuild it; nothing was written")


def kind_plural(kind: str) -> str:
    from nnframe.core.kinds import kind as kind_named

    return kind_named(kind).plural


def check_saveable(network: Network) -> None:
    """Everything `Network.save` checks (every component registered, every config plain
    JSON that rebuilds it), before training: a `ModelFileError` now, not after an epoch."""
    try:
        encode(network)
    except ModelFileError as exc:
        raise ModelFileError(f"{exc} (found before training; nothing was trained)") from None


def _state_entry(state: TrainState) -> dict[str, Any]:
    """The ``training.state`` object of a model file: the schedule's state and notes."""
    entry = dict(state.notes)
    if state.schedule is not None:
        entry["schedule"] = dict(state.schedule)
    if state.base_learning_rate is not None:
        entry["base_learning_rate"] = state.base_learning_rate
    return entry
