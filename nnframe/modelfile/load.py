"""Reading a model file back into a `Network` (`nnframe.load`), trusting nothing in it.

Components are rebuilt only through the registry, under the distribution that saved them;
nothing in a file can make nnframe import a module or run code of its choosing. Every
missing plugin is reported at once, naming the distribution to install. Stored arrays are
compared with what the layers expect before any layer allocates its parameters, when the
layers can say their parameter shapes in advance (``parameter_shapes``).
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterator
from typing import Any

import attrs
import numpy as np

from nnframe.constants import (
    DISTRIBUTION_PATTERN,
    DTYPES,
    MAX_LAYERS,
    count_layers,
    is_component_name,
)
from nnframe.core import registry
from nnframe.core.network import Network
from nnframe.core.registry import layer_label
from nnframe.core.training import TrainState
from nnframe.errors import ComponentError, MissingPluginError, ModelFileError, NNFrameError
from nnframe.modelfile.format import (
    HEADER_KEY,
    MAX_DEPTH,
    OPTIMIZER_PREFIX,
    PARAMS_PREFIX,
    STATE_PREFIX,
    read_header,
)
from nnframe.modelfile.npz import read_npz

#: Where nested entries of a composite layer live in its entry.
NESTED = ("layers", "branches")


def load(path: str | os.PathLike[str]) -> Network:
    """Rebuild the network saved at ``path``, with its training position when it has one.

    Raises `ModelFileError` for anything wrong with the file, `MissingPluginError` when a
    component's plugin is not installed, and warns (`ModelFileWarning`) when a component
    comes from another version of its distribution than the one it was saved with.
    """
    from nnframe.errors import ModelFileWarning, NonFiniteWeightsWarning

    arrays = read_npz(path)
    header = read_header(path, arrays.pop(HEADER_KEY, None))
    reader = _Reader(str(path), header, arrays)
    network = reader.network()
    for message in reader.version_warnings():
        warnings.warn(message, ModelFileWarning, stacklevel=2)
    for message in reader.warnings:
        warnings.warn(message, NonFiniteWeightsWarning, stacklevel=2)
    return network


@attrs.define
class _Mismatch:
    saved: str | None
    installed: str | None
    components: list[str]


@attrs.define
class _Entry:
    """One component entry of the header, where it is, and (once resolved) its component."""

    kind: str
    where: str
    data: dict[str, Any]
    component: registry.Component | None = None


@attrs.define
class _Reader:
    """Turns a checked header and its arrays into a `Network`, checking each step."""

    path: str
    header: dict[str, Any]
    arrays: dict[str, np.ndarray]
    _mismatches: dict[str, _Mismatch] = attrs.field(factory=dict)
    warnings: list[str] = attrs.field(factory=list)

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
        if count_layers(layer_entries) > MAX_LAYERS:
            raise self.fail(f"the header describes {count_layers(layer_entries):,} layers, more "
                            f"than the {MAX_LAYERS:,} a model file may hold")
        layers = [_Entry("layer", f"layer {i}", self._object(e, f"layer {i}"))
                  for i, e in enumerate(layer_entries)]
        others = {key: _Entry(key, f"the {key}", self._object(self.header[key], f"the {key}"))
                  for key in ("loss", "optimizer") if self.header.get(key) is not None}
        metrics = [_Entry("metric", f"metric {i}", self._object(e, f"metric {i}"))
                   for i, e in enumerate(self._list("metrics"))]
        self._resolve_all([e for top in layers for e in self._walk(top, 0)]
                          + list(others.values()) + metrics)

        network = Network([self._create_layer(entry, 0) for entry in layers], dtype=dtype)
        if input_shape is not None:
            self._check_declared_shapes(network, input_shape, np.dtype(dtype))
            self._build(network, input_shape)
            self._load_arrays(network)
        if "loss" in others:
            network.loss = self._create(others["loss"])
        network.metrics = [self._create(entry) for entry in metrics]
        if "optimizer" in others:
            network.optimizer = self._create(others["optimizer"])
            self._load_optimizer_state(network)
        self._load_training(network)
        if self.header.get("data") is not None:
            from nnframe.datasets.schema import DataSchema

            network.schema = DataSchema.from_json(self.header["data"], self.path)
        if self.arrays:
            version = self.header["format_version"]
            raise self.fail(f"holds arrays that format version {version} does not have: "
                            f"{', '.join(sorted(self.arrays))}")
        return network

    def _input_shape(self) -> tuple[int, ...] | None:
        shape = self.header.get("input_shape")
        if shape is None:
            return None
        if (not isinstance(shape, list) or not shape
                or not all(_is_int(n) and n >= 1 for n in shape)):
            raise self.fail(f"input_shape {shape!r} is not a list of positive integers")
        return tuple(shape)

    def _object(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(f"{where}: the header entry is not an object")
        return value

    def _list(self, key: str) -> list[Any]:
        value = self.header.get(key) or []
        if not isinstance(value, list):
            raise self.fail(f"{key} is not a list")
        return value

    # -- components ----------------------------------------------------------------------

    def _walk(self, entry: _Entry, depth: int) -> Iterator[_Entry]:
        """The entry and, for a composite layer, its inner entries (created and kept)."""
        if depth > MAX_DEPTH:
            raise self.fail(f"{entry.where}: composite layers nest more than {MAX_DEPTH} deep")
        yield entry
        inner = entry.data.setdefault("_inner", self._inner(entry))
        for child in _flatten(inner):
            yield from self._walk(child, depth + 1)

    def _inner(self, entry: _Entry) -> list[Any] | None:
        found = [key for key in NESTED if key in entry.data]
        if not found:
            return None
        if len(found) > 1:
            raise self.fail(f"{entry.where}: an entry holds both layers and branches")
        key, value = found[0], entry.data[found[0]]
        if key == "layers":
            if not isinstance(value, list):
                raise self.fail(f"{entry.where}: its inner layers are not a list")
            return [_Entry("layer", f"{entry.where}, inner layer {i}",
                           self._object(e, f"{entry.where}, inner layer {i}"))
                    for i, e in enumerate(value)]
        if not isinstance(value, list) or not all(isinstance(b, list) for b in value):
            raise self.fail(f"{entry.where}: its branches are not a list of lists")
        return [[_Entry("layer", f"{entry.where}, branch {b} layer {i}",
                        self._object(e, f"{entry.where}, branch {b} layer {i}"))
                 for i, e in enumerate(branch)] for b, branch in enumerate(value)]

    def _resolve_all(self, entries: list[_Entry]) -> None:
        """Every component through the registry; all missing plugins reported at once."""
        table = registry.get_registry()
        missing: dict[str, list[str]] = {}
        saved_versions: dict[str, Any] = {}
        for entry in entries:
            name, distribution, version = self._identity(entry)
            try:
                entry.component = table.get(entry.kind, f"{distribution}:{name}")
            except ComponentError:
                missing.setdefault(distribution, []).append(f"{entry.kind} {name!r}")
                saved_versions[distribution] = version
                continue
            if entry.component.version != version:
                mismatch = self._mismatches.setdefault(
                    entry.component.distribution,
                    _Mismatch(version, entry.component.version, []))
                mismatch.components.append(f"{entry.kind} {name!r}")
        if missing:
            problems = [self._missing(table, dist, saved_versions[dist], names)
                        for dist, names in missing.items()]
            raise MissingPluginError(f"{self.path}: " + "; ".join(problems))

    def _identity(self, entry: _Entry) -> tuple[str, str, str | None]:
        data = entry.data
        name, distribution = data.get("name"), data.get("distribution")
        version = data.get("version")
        if not is_component_name(name):
            raise self.fail(f"{entry.where}: invalid component name {name!r}")
        if not isinstance(distribution, str) or not DISTRIBUTION_PATTERN.match(distribution):
            raise self.fail(f"{entry.where}: invalid distribution name {distribution!r}")
        if version is not None and not isinstance(version, str):
            raise self.fail(f"{entry.where}: invalid version {version!r}")
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
        return f"{needs}, which is not installed: pip install '{distribution}{pin}'{hint}"

    def _create_layer(self, entry: _Entry, depth: int) -> Any:
        inner = entry.data.get("_inner")
        extra: dict[str, Any] = {}
        if inner is not None:
            key = next(k for k in NESTED if k in entry.data)
            if key == "layers":
                extra[key] = [self._create_layer(child, depth + 1) for child in inner]
            else:
                extra[key] = [[self._create_layer(child, depth + 1) for child in branch]
                              for branch in inner]
        return self._create(entry, extra)

    def _create(self, entry: _Entry, extra: dict[str, Any] | None = None) -> Any:
        component = entry.component
        config = entry.data.get("config")
        version = f" {component.version}" if component.version else ""
        label = f"{entry.where} ({component.qualified_name}{version})"
        if not isinstance(config, dict) or any(key in config for key in extra or {}):
            raise self.fail(f"{label}: its config is not an object of arguments")
        arguments = {**config, **(extra or {})}
        try:
            registry.check_arguments(component, (), arguments)
            built = component.factory(**arguments)
            registry.check_built(component, built)
        except Exception as exc:  # the file's data went into plugin code: say so, keep cause
            raise self.fail(f"{label} cannot be rebuilt from its saved config "
                            f"{json.dumps(config)}: {_reason(exc)}") from exc
        registry.get_registry().remember(built, component)
        return built

    # -- building and arrays -------------------------------------------------------------

    def _check_declared_shapes(self, network: Network, input_shape: tuple[int, ...],
                               dtype: np.dtype) -> None:
        """Before any parameter is allocated: each layer that can say its parameter shapes
        (``parameter_shapes``) must find arrays of those shapes in the file, so a header
        that declares huge layers with no weights behind them is refused cheaply."""
        shape = input_shape
        for index, layer in enumerate(network.layers):
            declared = getattr(layer, "parameter_shapes", None)
            try:
                shapes = declared(shape) if declared is not None else None
                for name, expected in (shapes or {}).items():
                    key = f"{PARAMS_PREFIX}{index}.{name}"
                    self._check_stored(key, tuple(expected), dtype,
                                       "the layer built from its config")
                shape = tuple(layer.output_shape(shape))
            except NNFrameError as exc:
                if isinstance(exc, ModelFileError):
                    raise
                raise self.fail(f"the layers cannot be built for input shape {input_shape}: "
                                f"layer {index}: {exc}") from None

    def _check_stored(self, key: str, shape: tuple[int, ...], dtype: np.dtype,
                      what: str) -> None:
        """The stored array ``key`` exists, with this shape and dtype."""
        stored = self.arrays.get(key)
        if stored is None:
            raise self.fail(f"the weights {key!r} are missing")
        self._check_array(key, stored, shape, dtype, what)

    def _check_array(self, key: str, stored: np.ndarray, shape: tuple[int, ...],
                     dtype: np.dtype, what: str) -> None:
        if stored.shape != tuple(shape):
            raise self.fail(f"{key!r} has shape {stored.shape}, but {what} expects "
                            f"{tuple(shape)}")
        if stored.dtype.newbyteorder("=") != np.dtype(dtype).newbyteorder("="):
            raise self.fail(f"{key!r} has dtype {stored.dtype}, but {what} expects {dtype}")

    def _build(self, network: Network, input_shape: tuple[int, ...]) -> None:
        try:
            network.build(input_shape)
        except Exception as exc:  # layers built from the file's configs: a file error
            raise self.fail(f"the layers cannot be built for input shape {input_shape}: "
                            f"{_reason(exc)}") from exc

    def _load_arrays(self, network: Network) -> None:
        targets = [(PARAMS_PREFIX + p.key, p.value) for p in network.parameters()]
        targets += [(STATE_PREFIX + key, value) for key, value in network.state().items()]
        for key, target in targets:
            if key.startswith(STATE_PREFIX) and key not in self.arrays \
                    and self.header["format_version"] < 2:
                continue  # format 1 had no state: the layer keeps its initial state
            what = "the layer built from its config"
            self._check_stored(key, np.shape(target), np.asarray(target).dtype, what)
            np.copyto(target, self.arrays.pop(key))
        extra = [key for key in self.arrays if key.startswith((PARAMS_PREFIX, STATE_PREFIX))]
        if extra:
            raise self.fail(f"holds weights or state the layers do not have: "
                            f"{', '.join(sorted(extra))}")
        for index, layer in enumerate(network.layers):
            check_state = getattr(layer, "check_state", None)
            if check_state is None:
                continue
            try:
                with np.errstate(invalid="ignore"):
                    check_state()
            except Exception as exc:  # a layer's own check of what the file holds
                raise self.fail(f"{layer_label(index, layer)}: {_reason(exc)}") from exc
        broken = [key for key, target in targets
                  if np.asarray(target).dtype.kind == "f" and not np.isfinite(target).all()]
        if broken:
            self.warnings.append(f"{self.path}: {', '.join(broken[:3])} hold NaN or infinite "
                                 "values: the model's outputs will not be finite (it "
                                 "diverged when it was trained; retrain it or load another "
                                 "file)")

    def _load_optimizer_state(self, network: Network) -> None:
        from nnframe.core.contracts import Optimizer

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
            like = parameters[owner]
            self._check_array(OPTIMIZER_PREFIX + key, stored, like.shape, like.dtype,
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
        point = training.get("resume_point")
        if point is not None:
            point = self._resume_point(point, epoch)
        state = training.get("state", {})
        if not isinstance(state, dict):
            raise self.fail("the saved training state is not an object")
        notes = {k: v for k, v in state.items() if k not in ("schedule", "base_learning_rate")}
        base = state.get("base_learning_rate")
        position = {} if point is None else {
            "batch": int(point["batch"]), "epoch_rng": point["epoch_rng"],
            "loss_sum": float(point.get("loss_sum", 0.0)), "seen": int(point.get("seen", 0))}
        network.train_state = TrainState(
            epoch=int(epoch), schedule=state.get("schedule"), notes=notes,
            base_learning_rate=None if base is None else float(base), **position)

    def _resume_point(self, point: Any, epoch: int) -> dict[str, Any]:
        batch = point.get("batch") if isinstance(point, dict) else None
        if (not isinstance(point, dict) or point.get("epoch") != epoch or not _is_int(batch)
                or batch < 1 or not isinstance(point.get("epoch_rng"), dict)):
            raise self.fail(f"the saved position inside epoch {epoch + 1} is invalid")
        try:  # the generator state must be one a generator accepts
            np.random.default_rng().bit_generator.state = point["epoch_rng"]
        except (TypeError, ValueError, KeyError, OverflowError) as exc:
            raise self.fail(f"the saved position's random state is invalid ({_reason(exc)})"
                            ) from None
        return point

    # -- warnings ------------------------------------------------------------------------

    def version_warnings(self) -> Iterator[str]:
        for distribution, m in self._mismatches.items():
            yield (f"{self.path} was saved with {distribution} {m.saved or '(unknown version)'} "
                   f"but {distribution} {m.installed or '(unknown version)'} is installed; "
                   f"it loaded, but {', '.join(m.components)} may behave differently")


def _flatten(inner: list[Any] | None) -> Iterator[_Entry]:
    for item in inner or ():
        if isinstance(item, list):
            yield from item
        else:
            yield item


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, NNFrameError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
