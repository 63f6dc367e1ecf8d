"""The optimizer contract: parameters, the group an optimizer steps, and its state."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar, Protocol, overload, runtime_checkable

import attrs
import numpy as np

from nnframe.core.contracts.config import config_of
from nnframe.core.contracts.layer import Shape

#: Each parameter starts on a 64-byte boundary of its buffer, as a fresh array would.
ALIGNMENT_BYTES = 64


@attrs.define(eq=False)
class Parameter:
    """One trainable array and its gradient, under a stable key such as ``"0.weights"``
    (layer index and parameter name; ``"3.1.weights"`` inside composite layer 3)."""

    key: str
    """Stable across runs and files: ``"<layer index>.<parameter name>"``."""
    value: np.ndarray = attrs.field(repr=False)
    """The parameter itself; an optimizer updates it in place."""
    grad: np.ndarray = attrs.field(repr=False)
    """dE/dvalue of the last backward pass, same shape and dtype."""


@attrs.define(eq=False)
class ParameterGroup(Sequence[Parameter]):
    """Every parameter an optimizer updates, each a view into one ``values`` buffer, with
    its gradient a view into one ``grads`` buffer at the same offsets.

    Iterating gives the `Parameter` objects (an update rule may go parameter by
    parameter); an element-wise rule may instead update ``values`` from ``grads`` in a
    few whole-buffer operations. The buffers may have gaps between parameters (alignment);
    gradients there are always zero.
    """

    values: np.ndarray = attrs.field(repr=False)
    """One flat buffer holding every parameter (each `Parameter.value` is a view of it)."""
    grads: np.ndarray = attrs.field(repr=False)
    """One flat buffer holding every gradient, laid out like `values`."""
    parameters: tuple[Parameter, ...] = attrs.field(converter=tuple)
    """The parameters, in network order."""
    spans: tuple[tuple[int, int], ...] = attrs.field(converter=tuple, repr=False)
    """``(start, stop)`` of each parameter in the buffers."""

    @classmethod
    def allocate(cls, shapes: Mapping[str, Shape], dtype: Any = np.float32) -> ParameterGroup:
        """A group of zero parameters and gradients of these shapes, keyed as given."""
        dtype = np.dtype(dtype)
        step = max(1, ALIGNMENT_BYTES // dtype.itemsize)
        spans, end = [], 0
        for shape in shapes.values():
            start = -(-end // step) * step
            end = start + int(np.prod(shape, dtype=np.int64))
            spans.append((start, end))
        values, grads = aligned_zeros(end, dtype), aligned_zeros(end, dtype)
        parameters = [
            Parameter(key, values[a:b].reshape(shape), grads[a:b].reshape(shape))
            for (key, shape), (a, b) in zip(shapes.items(), spans, strict=True)
        ]
        return cls(values, grads, parameters, spans)

    def split(self, flat: np.ndarray) -> list[np.ndarray]:
        """Views of a buffer laid out like ``values``, one per parameter, in its shape."""
        return [flat[a:b].reshape(p.value.shape)
                for p, (a, b) in zip(self.parameters, self.spans, strict=True)]

    def __len__(self) -> int:
        return len(self.parameters)

    def __iter__(self) -> Iterator[Parameter]:
        return iter(self.parameters)

    @overload
    def __getitem__(self, index: int) -> Parameter: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Parameter]: ...

    def __getitem__(self, index):
        return self.parameters[index]

    def keys(self) -> list[str]:
        """The parameter keys, in order."""
        return [p.key for p in self.parameters]


def aligned_zeros(size: int, dtype: np.dtype) -> np.ndarray:
    """Zeros whose first element sits on an `ALIGNMENT_BYTES` boundary."""
    spare = ALIGNMENT_BYTES // dtype.itemsize
    raw = np.zeros(size + spare, dtype)
    skip = (-raw.ctypes.data % ALIGNMENT_BYTES) // dtype.itemsize
    return raw[skip:skip + size]


@runtime_checkable
class OptimizerProtocol(Protocol):
    """What a network needs from an optimizer. Any object with these members is one.

    Its state is keyed by the stable parameter keys, so that it can be saved in a model
    file and restored into a new optimizer for the same network.

    Optionally, a class attribute ``elementwise = True`` says that the update is
    element-wise (see `Optimizer.elementwise`); without it an optimizer is never given a
    slice of the buffers.
    """

    learning_rate: float
    """The step size, a Python float; `fit` and schedules set it before every batch."""

    def step(self, parameters: ParameterGroup) -> None:
        """Update every parameter's value in place from its gradient (one call per batch,
        always with the same group: the network's)."""

    def state_dict(self) -> dict[str, np.ndarray]:
        """The state as flat ``{name: array}``, numbers only (saved without pickle)."""

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Take a state from `state_dict`; the next steps continue as the original's."""

    def get_config(self) -> dict[str, Any]:
        """JSON-safe constructor arguments that rebuild an equal optimizer."""


@attrs.define(eq=False)
class Optimizer:
    """Optional base class: state as ``{parameter key: {slot: array}}`` plus a step count.

    An element-wise update rule asks `slot` for one state buffer laid out like the group's
    ``values`` and updates everything with whole-buffer operations; ``state`` then holds
    a view of it per parameter, so saving and loading see per-parameter arrays.
    """

    state: dict[str, dict[str, np.ndarray]] = attrs.field(init=False, factory=dict, repr=False)
    """``{parameter key: {slot name: array}}``: what `state_dict` saves."""
    iterations: int = attrs.field(init=False, default=0, repr=False)
    """Steps taken so far (a subclass's `step` counts them); saved with the state."""
    elementwise: ClassVar[bool] = False
    """Whether the update is element-wise: each element of ``values`` and of every state
    slot changes from the same element of ``grads`` and of the slots alone (plus numbers
    shared by every element, such as the learning rate and ``iterations``), so that a step
    on any slice of the buffers updates that slice as the whole step would. Training on
    several processes then shards the step: each process steps a `ParameterGroup` of its
    slice (flat pieces of the parameters, under their keys) and keeps state for it alone.
    A subclass that says True must also keep ``state_dict`` in the ``"key/slot"`` layout,
    each array shaped like its parameter. False (the default): every process takes the
    whole step."""
    _slots: dict[str, np.ndarray] = attrs.field(init=False, factory=dict, repr=False)
    _slots_group: ParameterGroup | None = attrs.field(init=False, default=None, repr=False)

    def step(self, parameters: ParameterGroup) -> None:
        """Update the parameters in place (subclasses implement it)."""
        raise NotImplementedError(f"{type(self).__name__} must implement step()")

    def slot(self, group: ParameterGroup, name: str) -> np.ndarray:
        """The state buffer ``name`` for ``group``, laid out like ``group.values``: zeros at
        first, or the per-parameter state loaded by `load_state_dict`."""
        if self._slots_group is not group:
            self._slots, self._slots_group = {}, group
        array = self._slots.get(name)
        if array is None:
            array = np.zeros_like(group.values)
            for parameter, view in zip(group, group.split(array), strict=True):
                slots = self.state.setdefault(parameter.key, {})
                if slots.get(name) is not None:
                    np.copyto(view, slots[name])
                slots[name] = view
            self._slots[name] = array
        return array

    def state_dict(self) -> dict[str, np.ndarray]:
        """Flat ``{"key/slot": array}`` plus ``iterations``; safe to save without pickle."""
        flat = {f"{key}/{name}": array for key, slots in self.state.items()
                for name, array in slots.items()}
        flat["iterations"] = np.asarray(self.iterations, dtype=np.int64)
        return flat

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Replace the state with one from `state_dict` (copied)."""
        self.state, self._slots, self._slots_group = {}, {}, None
        for flat_key, array in state.items():
            if flat_key == "iterations":
                self.iterations = int(array)
                continue
            key, _, name = flat_key.rpartition("/")
            self.state.setdefault(key, {})[name] = np.array(array)

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, read from the attrs fields."""
        return config_of(self)
