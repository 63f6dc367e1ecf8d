"""The contracts: what a layer, a loss and an optimizer are.

A component is any object with the members of the matching `Protocol`; the base classes
`Layer`, `Loss` and `Optimizer` are optional and only supply defaults. Components are attrs
classes whose ``init`` fields are their constructor arguments, so `get_config` comes free.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import attrs
import numpy as np

Shape = tuple[int, ...]


# -- protocols ---------------------------------------------------------------------------


@runtime_checkable
class LayerProtocol(Protocol):
    """What the network needs from a layer.

    ``forward`` and ``backward`` read the parameters as ``self.params[name]`` and write the
    gradients into the arrays ``self.grads[name]`` on every call: a built network may put
    views of its own buffers (same shape, dtype and values) into these dicts, and keep no
    other reference (see `nnframe.flat`). A layer that puts new arrays into its dicts
    instead still trains, parameter by parameter. Optional: ``backward_parameters(grad)``,
    ``backward`` without computing dE/dX, which the network then calls on its first layer
    with parameters (`Layer` supplies one that calls ``backward``).
    """

    params: dict[str, np.ndarray]
    grads: dict[str, np.ndarray]

    def build(self, input_shape: Shape, rng: np.random.Generator, dtype: np.dtype) -> None: ...

    def output_shape(self, input_shape: Shape) -> Shape: ...

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray: ...

    def backward(self, grad_output: np.ndarray) -> np.ndarray: ...

    def get_config(self) -> dict[str, Any]: ...


@runtime_checkable
class LossProtocol(Protocol):
    """What the network needs from a loss."""

    def forward(self, y_true: np.ndarray, y_pred: np.ndarray) -> float: ...

    def backward(self) -> np.ndarray: ...

    def get_config(self) -> dict[str, Any]: ...


@attrs.define(eq=False)
class Parameter:
    """One trainable array and its gradient, under a stable key such as ``"0.weights"``."""

    key: str
    value: np.ndarray = attrs.field(repr=False)
    grad: np.ndarray = attrs.field(repr=False)


@runtime_checkable
class OptimizerProtocol(Protocol):
    """What the network needs from an optimizer."""

    learning_rate: float

    def step(self, parameters: Sequence[Parameter]) -> None: ...

    def state_dict(self) -> dict[str, np.ndarray]: ...

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None: ...

    def get_config(self) -> dict[str, Any]: ...


# -- shared helpers ----------------------------------------------------------------------


def config_of(component: object) -> dict[str, Any]:
    """Constructor arguments of a component: its attrs ``init`` fields, else its signature."""
    cls = type(component)
    if attrs.has(cls):
        return {
            field.alias: _json_safe(getattr(component, field.name))
            for field in attrs.fields(cls)
            if field.init
        }
    config = {}
    for name, parameter in inspect.signature(cls).parameters.items():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        if not hasattr(component, name):
            raise NotImplementedError(
                f"{cls.__name__} has no attribute {name!r} for its constructor argument; "
                "make it an attrs class or override get_config()"
            )
        config[name] = _json_safe(getattr(component, name))
    return config


def _json_safe(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


# -- optional base classes ---------------------------------------------------------------


@attrs.define(eq=False)
class Layer:
    """Optional base class for layers: no parameters, shape-preserving, config from fields.

    Subclasses are attrs classes (``@attrs.define(eq=False)``) whose ``init`` fields are
    the constructor arguments; ``params`` and ``grads`` start empty.
    """

    params: dict[str, np.ndarray] = attrs.field(init=False, factory=dict, repr=False)
    grads: dict[str, np.ndarray] = attrs.field(init=False, factory=dict, repr=False)

    def build(self, input_shape: Shape, rng: np.random.Generator, dtype: np.dtype) -> None:
        """Create parameters for one sample's shape; nothing to do without parameters."""

    def output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward_parameters(self, grad_output: np.ndarray) -> None:
        """Fill ``grads`` as `backward` does when no one needs dE/dX: the network calls
        this on its first layer with parameters. Override it to skip computing dE/dX."""
        self.backward(grad_output)

    def get_config(self) -> dict[str, Any]:
        return config_of(self)


@attrs.define(eq=False)
class Loss:
    """Optional base class for losses."""

    def forward(self, y_true: np.ndarray, y_pred: np.ndarray) -> float:
        raise NotImplementedError

    def backward(self) -> np.ndarray:
        raise NotImplementedError

    def check_targets(self, y_true: np.ndarray, output_shape: Shape) -> None:
        """Raise `DataError` when targets cannot be compared with the network's output."""

    def get_config(self) -> dict[str, Any]:
        return config_of(self)


@attrs.define(eq=False)
class Optimizer:
    """Optional base class: state as ``{parameter key: {slot: array}}`` plus a step count.

    `groups` and `slot` let an element-wise update rule run once over the network's whole
    parameter buffer when `step` is given one (see `nnframe.flat`), and once per parameter
    otherwise, with the same results and the same per-parameter state either way.
    """

    state: dict[str, dict[str, np.ndarray]] = attrs.field(init=False, factory=dict, repr=False)
    iterations: int = attrs.field(init=False, default=0, repr=False)
    _flat_slots: dict[str, tuple[Any, np.ndarray, tuple[np.ndarray, ...]]] = attrs.field(
        init=False, factory=dict, repr=False)

    def step(self, parameters: Sequence[Parameter]) -> None:
        raise NotImplementedError

    @staticmethod
    def groups(parameters: Sequence[Parameter]) -> Sequence[Parameter]:
        """What an element-wise rule updates: the whole buffer when ``parameters`` carries
        one (``parameters.flat``), else each parameter."""
        flat = getattr(parameters, "flat", None)
        return parameters if flat is None else (flat,)

    def slot(self, parameter: Parameter, name: str) -> np.ndarray:
        """The state array ``name`` of a parameter (or of a whole buffer), zeros at first."""
        if hasattr(parameter, "members"):
            return self._flat_slot(parameter, name)
        slots = self.state.setdefault(parameter.key, {})
        array = slots.get(name)
        if array is None:
            array = slots[name] = np.zeros_like(parameter.value)
        return array

    def _flat_slot(self, flat: Any, name: str) -> np.ndarray:
        """One state buffer for a whole parameter buffer; ``state`` holds views of it under
        each parameter's key, so saving, loading and per-parameter steps see the same
        numbers. State set per parameter (after `load_state_dict`) is copied in."""
        linked = self._flat_slots.get(name)
        if linked is not None and linked[0] is flat and all(
                self.state.get(member.key, {}).get(name) is view
                for member, view in zip(flat.members, linked[2], strict=True)):
            return linked[1]
        array = np.zeros_like(flat.value)
        views = []
        for member, (start, stop) in zip(flat.members, flat.spans, strict=True):
            view = array[start:stop].reshape(member.value.shape)
            slots = self.state.setdefault(member.key, {})
            if slots.get(name) is not None:
                np.copyto(view, slots[name])
            slots[name] = view
            views.append(view)
        self._flat_slots[name] = (flat, array, tuple(views))
        return array

    def state_dict(self) -> dict[str, np.ndarray]:
        """Flat ``{"key/slot": array}`` plus ``iterations``; safe to save without pickle."""
        flat = {f"{key}/{name}": array for key, slots in self.state.items()
                for name, array in slots.items()}
        flat["iterations"] = np.asarray(self.iterations, dtype=np.int64)
        return flat

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        self.state = {}
        for flat_key, array in state.items():
            if flat_key == "iterations":
                self.iterations = int(array)
                continue
            key, _, name = flat_key.rpartition("/")
            self.state.setdefault(key, {})[name] = np.array(array)

    def get_config(self) -> dict[str, Any]:
        return config_of(self)
