"""nnframe model files: one ``.npz`` readable with numpy alone, no pickle.

The archive holds a JSON ``header`` (a uint8 array of UTF-8 bytes) describing the network,
the weights as ``params/<layer index>.<name>``, and optionally the optimizer's state as
``optimizer/<state key>``. Components are written as registered names with their configs
and the distribution and version that provided them, and are rebuilt only through the
registry: nothing in a file can make nnframe import a module or run code.
The guide's "Model files" page describes the format.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from nnframe import registry
from nnframe._version import __version__
from nnframe.atomic import write_atomic
from nnframe.contracts import Optimizer
from nnframe.errors import (
    ComponentError,
    MissingPluginError,
    ModelFileError,
    ModelFileWarning,
    NNFrameError,
)
from nnframe.network import DTYPES, Network
from nnframe.npz import read_npz, write_npz

FORMAT_NAME = "nnframe-model"
FORMAT_VERSION = 1
HEADER_KEY = "header"
PARAMS_PREFIX = "params/"
OPTIMIZER_PREFIX = "optimizer/"
MAX_HEADER_BYTES = 16 * 2**20
_DISTRIBUTION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


# -- saving ------------------------------------------------------------------------------


def save(network: Network, path: str | os.PathLike[str], *,
         include_optimizer: bool = True) -> Path:
    """Write ``network`` to ``path`` atomically and return the path.

    With ``include_optimizer`` (the default) the file also holds the optimizer's config and
    state and the training position (``network.epoch`` and the RNG state), so that
    ``fit(..., initial_epoch=loaded.epoch)`` continues the run exactly.
    """
    header, arrays = encode(network, include_optimizer=include_optimizer)
    contents = {HEADER_KEY: _header_bytes(header), **arrays}
    try:
        return write_atomic(path, lambda file: write_npz(file, contents))
    except OSError as exc:
        raise ModelFileError(f"could not write the model file {path}: "
                             f"{exc.strerror or exc}; any previous file there is unchanged"
                             ) from exc


def encode(network: Network, *, include_optimizer: bool = True
           ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The JSON header and the arrays that describe ``network``."""
    layers = []
    arrays: dict[str, np.ndarray] = {}
    for index, layer in enumerate(network.layers):
        layers.append(_describe_component("layer", layer, f"layer {index}"))
        if network.built:
            for name, value in layer.params.items():
                arrays[f"{PARAMS_PREFIX}{index}.{name}"] = np.asarray(value)
    header: dict[str, Any] = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "nnframe_version": __version__,
        "dtype": network.dtype.name,
        "input_shape": list(network.input_shape) if network.built else None,
        "layers": layers,
        "loss": None if network.loss is None else _describe_component(
            "loss", network.loss, "the loss"),
        "optimizer": None,
        "training": None,
    }
    if include_optimizer and network.optimizer is not None:
        entry = _describe_component("optimizer", network.optimizer, "the optimizer")
        state = dict(network.optimizer.state_dict())
        entry["state"] = list(state)
        arrays.update({OPTIMIZER_PREFIX + key: np.asarray(value) for key, value in state.items()})
        header["optimizer"] = entry
    if include_optimizer and network.built:
        header["training"] = {"epoch": int(network.epoch),
                              "rng": network.rng.bit_generator.state}
    return header, arrays


def _describe_component(kind: str, component: object, where: str) -> dict[str, Any]:
    found = registry.get_registry().find(kind, type(component))
    cls = type(component)
    if found is None:
        raise ModelFileError(
            f"cannot save {where}: {cls.__module__}.{cls.__qualname__} is not a registered "
            f"{kind}, so a model file could not rebuild it; register the class through a "
            f"plugin's register_{kind}s hook (see README, 'Writing a plugin') and build it "
            f"with nnframe.{kind}(name)"
        )
    config = component.get_config()
    if not isinstance(config, dict) or not all(isinstance(key, str) for key in config):
        raise ModelFileError(f"cannot save {where} ({found.name}): get_config() must return "
                             f"a dict with string keys, got {config!r}")
    try:
        json.dumps(config, allow_nan=True)
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"cannot save {where} ({found.name}): its config {config!r} is "
                             f"not JSON ({exc}); get_config() must return plain numbers, "
                             "strings, bools, None, lists and dicts") from None
    return {"name": found.name, "distribution": found.distribution,
            "version": found.version, "config": config}


def _header_bytes(header: dict[str, Any]) -> np.ndarray:
    text = json.dumps(header, indent=1, sort_keys=False)
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8)


# -- loading -----------------------------------------------------------------------------


def load(path: str | os.PathLike[str]) -> Network:
    """Rebuild the network saved at ``path``, with its training position when it has one.

    Raises `ModelFileError` for anything wrong with the file, `MissingPluginError` when a
    component's plugin is not installed, and warns (`ModelFileWarning`) when a component
    comes from another version of its distribution than the one it was saved with.
    """
    arrays = read_npz(path)
    header = read_header(path, arrays.pop(HEADER_KEY, None))
    reader = _Reader(str(path), header, arrays)
    network = reader.network()
    for message in reader.version_warnings():
        warnings.warn(message, ModelFileWarning, stacklevel=2)
    return network


def read_header(path: str | os.PathLike[str], raw: np.ndarray | None) -> dict[str, Any]:
    """The parsed JSON header of a model file, checked for format name and version."""
    if raw is None:
        raise ModelFileError(f"{path}: not an nnframe model file (an .npz without the "
                             f"{HEADER_KEY!r} array)")
    if raw.dtype != np.uint8 or raw.ndim != 1 or raw.size > MAX_HEADER_BYTES:
        raise ModelFileError(f"{path}: not an nnframe model file (its {HEADER_KEY!r} array "
                             "is not UTF-8 JSON bytes)")
    try:
        header = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ModelFileError(f"{path}: the header is not valid JSON ({exc})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        raise ModelFileError(f"{path}: not an nnframe model file (its header does not say "
                             f"format {FORMAT_NAME!r})")
    version = header.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ModelFileError(f"{path}: unknown model file format version {version!r}")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: written in model file format version {version} by nnframe "
            f"{header.get('nnframe_version')}; this nnframe ({__version__}) reads format "
            f"version {FORMAT_VERSION} and older: upgrade nnframe to load it"
        )
    return header


@attrs.define
class _Mismatch:
    saved: str | None
    installed: str | None
    components: list[str]


@attrs.define
class _Reader:
    """Turns a checked header and its arrays into a `Network`, checking each step."""

    path: str
    header: dict[str, Any]
    arrays: dict[str, np.ndarray]
    _mismatches: dict[str, _Mismatch] = attrs.field(factory=dict)

    def fail(self, message: str) -> ModelFileError:
        return ModelFileError(f"{self.path}: {message}")

    def network(self) -> Network:
        dtype = self.header.get("dtype")
        if dtype not in DTYPES:
            raise self.fail(f"dtype {dtype!r} is not one of {', '.join(DTYPES)}")
        input_shape = self._input_shape()
        layer_entries = self.header.get("layers")
        if not isinstance(layer_entries, list) or not layer_entries:
            raise self.fail("the header lists no layers")
        entries = [("layer", f"layer {i}", entry) for i, entry in enumerate(layer_entries)]
        for kind, key in (("loss", "loss"), ("optimizer", "optimizer")):
            if self.header.get(key) is not None:
                entries.append((kind, f"the {kind}", self.header[key]))
        components = self._resolve_all(entries)

        built = [self._create(component, where, entry)
                 for (_, where, entry), component in zip(entries, components, strict=True)]
        network = Network(built[:len(layer_entries)], dtype=dtype)
        if input_shape is not None:
            self._build(network, input_shape)
            self._load_params(network)
        others = iter(built[len(layer_entries):])
        if self.header.get("loss") is not None:
            network.loss = next(others)
        if self.header.get("optimizer") is not None:
            network.optimizer = next(others)
            self._load_optimizer_state(network)
        self._load_training(network)
        if self.arrays:
            raise self.fail(f"holds arrays that format version {FORMAT_VERSION} does not "
                            f"have: {', '.join(sorted(self.arrays))}")
        return network

    def _input_shape(self) -> tuple[int, ...] | None:
        shape = self.header.get("input_shape")
        if shape is None:
            return None
        if (not isinstance(shape, list) or not shape
                or not all(_is_int(n) and n >= 1 for n in shape)):
            raise self.fail(f"input_shape {shape!r} is not a list of positive integers")
        return tuple(shape)

    # -- components ----------------------------------------------------------------------

    def _resolve_all(self, entries: list[tuple[str, str, Any]]) -> list[registry.Component]:
        """Every component through the registry; all missing plugins reported at once."""
        table = registry.get_registry()
        found: list[registry.Component] = []
        missing: dict[str, list[str]] = {}
        saved_versions: dict[str, Any] = {}
        for kind, where, entry in entries:
            name, distribution, version = self._identity(where, entry)
            try:
                component = table.get(kind, f"{distribution}:{name}")
            except ComponentError:
                missing.setdefault(distribution, []).append(f"{kind} {name!r}")
                saved_versions[distribution] = version
                continue
            found.append(component)
            if component.version != version:
                mismatch = self._mismatches.setdefault(
                    component.distribution, _Mismatch(version, component.version, []))
                mismatch.components.append(f"{kind} {name!r}")
        if missing:
            problems = [self._missing(table, dist, saved_versions[dist], names)
                        for dist, names in missing.items()]
            raise MissingPluginError(f"{self.path}: " + "; ".join(problems))
        return found

    def _identity(self, where: str, entry: Any) -> tuple[str, str, str | None]:
        if not isinstance(entry, dict):
            raise self.fail(f"{where}: the header entry is not an object")
        name, distribution = entry.get("name"), entry.get("distribution")
        version = entry.get("version")
        if not isinstance(name, str) or not _NAME.match(name):
            raise self.fail(f"{where}: invalid component name {name!r}")
        if not isinstance(distribution, str) or not _DISTRIBUTION.match(distribution):
            raise self.fail(f"{where}: invalid distribution name {distribution!r}")
        if version is not None and not isinstance(version, str):
            raise self.fail(f"{where}: invalid version {version!r}")
        return name, distribution, version

    def _missing(self, table: registry.Registry, distribution: str, version: str | None,
                 names: list[str]) -> str:
        wanted = registry.normalize_distribution(distribution)
        plugins = [p for p in table.plugins()
                   if registry.normalize_distribution(p.distribution) == wanted]
        saved = f"version {version}" if version else "an unknown version"
        needs = f"needs {', '.join(names)} from {distribution} ({saved} when saved)"
        broken = [p for p in plugins if p.status != "ok"]
        if broken:
            return (f"{needs}, which is installed but failed to load: {broken[0].error} "
                    "(see `nnframe plugins`)")
        if plugins:
            installed = plugins[0].version or "of unknown version"
            return (f"{needs}, but the installed {distribution} {installed} does not "
                    f"provide them; install {distribution} {version or ''}".rstrip())
        hint = ""
        selected = os.environ.get(registry.LOAD_PLUGINS_ENV)
        if selected is not None:
            hint = (f" (or, if it is installed, add it to {registry.LOAD_PLUGINS_ENV}, "
                    f"now {selected!r})")
        pin = f"=={version}" if version else ""
        return (f"{needs}, which is not installed: pip install '{distribution}{pin}'{hint}")

    def _create(self, component: registry.Component, where: str, entry: dict[str, Any]) -> Any:
        config = entry.get("config")
        version = f" {component.version}" if component.version else ""
        label = f"{where} ({component.qualified_name}{version})"
        if not isinstance(config, dict):
            raise self.fail(f"{label}: its config is not an object")
        try:
            registry.check_arguments(component, (), config)
            return component.factory(**config)
        except Exception as exc:  # the file's data went into plugin code: say so, keep cause
            raise self.fail(f"{label} cannot be rebuilt from its saved config "
                            f"{json.dumps(config)}: {_reason(exc)}") from exc

    def _build(self, network: Network, input_shape: tuple[int, ...]) -> None:
        try:
            network.build(input_shape)
        except Exception as exc:  # layers built from the file's configs: a file error
            raise self.fail(f"the layers cannot be built for input shape {input_shape}: "
                            f"{_reason(exc)}") from exc

    # -- arrays --------------------------------------------------------------------------

    def _load_params(self, network: Network) -> None:
        for parameter in network.parameters():
            key = PARAMS_PREFIX + parameter.key
            stored = self.arrays.pop(key, None)
            if stored is None:
                raise self.fail(f"the weights {key!r} are missing")
            self._check_like(key, stored, parameter.value, "the layer built from its config")
            np.copyto(parameter.value, stored)
        extra = [key for key in self.arrays if key.startswith(PARAMS_PREFIX)]
        if extra:
            raise self.fail(f"holds weights for parameters the layers do not have: "
                            f"{', '.join(sorted(extra))}")

    def _check_like(self, key: str, stored: np.ndarray, like: np.ndarray, what: str) -> None:
        if stored.shape != like.shape:
            raise self.fail(f"{key!r} has shape {stored.shape}, but {what} expects "
                            f"{like.shape}")
        if stored.dtype.newbyteorder("=") != like.dtype.newbyteorder("="):
            raise self.fail(f"{key!r} has dtype {stored.dtype}, but {what} expects "
                            f"{like.dtype}")

    def _load_optimizer_state(self, network: Network) -> None:
        keys = self.header["optimizer"].get("state", [])
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise self.fail("the optimizer's state keys are not a list of strings")
        state = {}
        for key in keys:
            stored = self.arrays.pop(OPTIMIZER_PREFIX + key, None)
            if stored is None:
                raise self.fail(f"the optimizer state {OPTIMIZER_PREFIX + key!r} is missing")
            state[key] = stored
        optimizer = network.optimizer
        if isinstance(optimizer, Optimizer):
            self._check_slots(network, state)
        try:
            optimizer.load_state_dict(state)
        except Exception as exc:  # plugin code given the file's arrays
            raise self.fail(f"the optimizer cannot take its saved state: {_reason(exc)}"
                            ) from exc

    def _check_slots(self, network: Network, state: dict[str, np.ndarray]) -> None:
        """`nnframe.Optimizer` keeps one array per parameter and slot, like the parameter."""
        parameters = {p.key: p.value for p in network.parameters()}
        for key, stored in state.items():
            if key == "iterations":
                if stored.shape != () or stored.dtype.kind not in "iu" or stored < 0:
                    raise self.fail("the optimizer's iteration count is not an integer >= 0")
                continue
            owner, _, slot = key.rpartition("/")
            if owner not in parameters or not slot:
                raise self.fail(f"the optimizer state {key!r} belongs to no parameter of the "
                                "network")
            self._check_like(OPTIMIZER_PREFIX + key, stored, parameters[owner],
                             f"parameter {owner!r}")

    def _load_training(self, network: Network) -> None:
        training = self.header.get("training")
        if training is None:
            return
        if not isinstance(training, dict) or not network.built:
            raise self.fail("the training position is invalid")
        epoch = training.get("epoch")
        if not _is_int(epoch) or epoch < 0:
            raise self.fail(f"the training epoch {epoch!r} is not an integer >= 0")
        try:
            network.rng.bit_generator.state = training.get("rng")
        except (TypeError, ValueError, KeyError, OverflowError) as exc:
            raise self.fail(f"the saved random generator state is invalid ({_reason(exc)})"
                            ) from None
        network.epoch = epoch

    # -- warnings ------------------------------------------------------------------------

    def version_warnings(self) -> Iterator[str]:
        for distribution, m in self._mismatches.items():
            yield (f"{self.path} was saved with {distribution} {m.saved or '(unknown version)'} "
                   f"but {distribution} {m.installed or '(unknown version)'} is installed; "
                   f"it loaded, but {', '.join(m.components)} may behave differently")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, NNFrameError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
