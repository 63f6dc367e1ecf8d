"""Layers that hold layers: ``sequential``, ``residual`` and ``parallel``.

A composite is a layer like any other to the network: its ``params``, ``grads`` and
``state`` are live views of its inner layers' dicts, keyed ``"<inner index>.<name>"``
(``"<branch>.<index>.<name>"`` for ``parallel``), so the network binds, saves, restores and
steps the inner arrays without knowing they are nested. Its inner layers are given as layer
objects, registered names (``"relu"``), or tables ``{"type": "dense", "output_size": 8}``
as in config files; ``get_config`` gives them back as tables, and model files store them
as entries of their own. Errors inside name the inner layer: ``inner layer 2 (dense): ...``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import attrs
import numpy as np

from nnframe.checks.arguments import one_of
from nnframe.core.contracts import LayerProtocol, Shape
from nnframe.core.kinds import kind
from nnframe.core.registry import component_of
from nnframe.errors import ConfigError, NNFrameError, PluginError, ShapeError
from nnframe.layers.nested import NestedArrays


def inner_label(where: str, layer: Any) -> str:
    """``inner layer 2 (dense)`` or ``branch 1 layer 0 (conv2d from nnframe-conv)``."""
    found = component_of("layer", layer)
    if found is None:
        return f"{where} ({type(layer).__name__})"
    origin = "" if found.builtin else f" from {found.distribution}"
    return f"{where} ({found.name}{origin})"


def inner_error(exc: Exception, key: str, where: str, layer: Any, what: str) -> Exception:
    """``exc`` raised by an inner layer, saying which: an `NNFrameError` keeps its type, any
    other exception (a bug in plugin code) becomes a `PluginError`. ``inner_key`` collects
    the path below the composite (``layers[3].layers[1]``) for config messages."""
    label = inner_label(where, layer)
    if isinstance(exc, NNFrameError):
        error = type(exc)(f"{label}: {exc}")
    else:
        error = PluginError(f"{label}: {what} raised {type(exc).__name__}: {exc}")
    below = getattr(exc, "inner_key", "")
    error.inner_key = key + (f".{below}" if below else "")
    return error


def make_layer(spec: Any, where: str) -> LayerProtocol:
    """A layer object from a layer, a registered name or a ``{"type": ...}`` table."""
    from nnframe.core.registry import create

    if isinstance(spec, str):
        return create("layer", spec)
    if isinstance(spec, dict):
        if not isinstance(spec.get("type"), str):
            raise ConfigError(f"{where}: a table of an inner layer needs a type naming it, "
                              f"such as {{'type': 'dense', 'output_size': 8}}, got {spec!r}")
        arguments = {key: value for key, value in spec.items() if key != "type"}
        return create("layer", spec["type"], **arguments)
    missing = [m for m in kind("layer").members if not hasattr(spec, m)]
    if missing:
        raise ConfigError(f"{where} ({type(spec).__name__}) is not a layer: it lacks "
                          f"{', '.join(missing)}")
    return spec


def layer_spec(layer: Any) -> dict[str, Any]:
    """An inner layer as a table: ``{"type": <registered name>, **its config}``."""
    found = component_of("layer", layer)
    if found is None:
        cls = type(layer)
        raise NotImplementedError(
            f"the inner layer {cls.__module__}.{cls.__qualname__} is not a registered layer, "
            "so the composite's config could not rebuild it; build inner layers by "
            "registered name")
    name = found.name if found.builtin else found.qualified_name
    return {"type": name, **layer.get_config()}


def _layers(value: Any) -> list[LayerProtocol]:
    if isinstance(value, (str, dict)) or not isinstance(value, Sequence):
        raise ConfigError(f"layers must be a list of layers, names or tables, got {value!r}")
    return [make_layer(spec, f"inner layer {i}") for i, spec in enumerate(value)]


def _branches(value: Any) -> list[list[LayerProtocol]]:
    if isinstance(value, (str, dict)) or not isinstance(value, Sequence) or not value:
        raise ConfigError(f"branches must be a non-empty list of lists of layers, got "
                          f"{value!r}")
    branches = []
    for b, branch in enumerate(value):
        if isinstance(branch, (str, dict)) or not isinstance(branch, Sequence):
            raise ConfigError(f"branch {b} must be a list of layers (empty: the identity), "
                              f"got {branch!r}")
        branches.append([make_layer(spec, f"branch {b} layer {i}")
                         for i, spec in enumerate(branch)])
    return branches


@attrs.define(eq=False)
class _Composite:
    """What the composites share: views of the inner arrays, and inner errors named."""

    #: the constructor argument holding the inner layers: ``layers`` or ``branches``
    holds: ClassVar[str] = "layers"

    def inner(self) -> list[tuple[str, Any]]:
        """``(key prefix, layer)`` for every inner layer, in order."""
        raise NotImplementedError

    @property
    def params(self) -> NestedArrays:
        return NestedArrays(self.inner(), "params")

    @property
    def grads(self) -> NestedArrays:
        return NestedArrays(self.inner(), "grads")

    @property
    def state(self) -> NestedArrays:
        return NestedArrays(self.inner(), "state")

    def parameter_shapes(self, input_shape: Shape) -> dict[str, Shape] | None:
        """The inner layers' parameter shapes, or None when an inner layer cannot say its
        own before it is built (it has no ``parameter_shapes``)."""
        shapes: dict[str, Shape] = {}
        for key, layer, shape in self._walk_shapes(tuple(input_shape)):
            declared = getattr(layer, "parameter_shapes", None)
            own = declared(shape) if declared is not None else None
            if own is None:
                return None
            shapes.update({f"{key}.{name}": tuple(value) for name, value in own.items()})
        return shapes

    def _walk_shapes(self, input_shape: Shape) -> Iterator[tuple[str, Any, Shape]]:
        raise NotImplementedError

    def _call(self, key: str, where: str, layer: Any, what: str, call: Any) -> Any:
        try:
            return call()
        except Exception as exc:
            raise inner_error(exc, key, where, layer, what) from exc


@attrs.define(eq=False)
class Sequential(_Composite):
    """Layers in a chain, as one layer: y = f_n(... f_1(x))."""

    #: How `nnframe check` builds it.
    check_hints: ClassVar[dict] = {
        "config": {"layers": [{"type": "dense", "output_size": 3}, "tanh"]},
        "input_shape": (4,)}

    layers: list[LayerProtocol] = attrs.field(converter=_layers)

    def inner(self) -> list[tuple[str, Any]]:
        return [(str(i), layer) for i, layer in enumerate(self.layers)]

    def _walk_shapes(self, input_shape: Shape) -> Iterator[tuple[str, Any, Shape]]:
        shape = input_shape
        for i, layer in enumerate(self.layers):
            yield str(i), layer, shape
            shape = self._call(f"layers[{i}]", f"inner layer {i}", layer, "output_shape",
                               lambda layer=layer, shape=shape: tuple(layer.output_shape(shape)))

    def build(self, input_shape: Shape, rng: np.random.Generator, dtype: np.dtype) -> None:
        shape = tuple(input_shape)
        for i, layer in enumerate(self.layers):
            def step(layer=layer, shape=shape):
                layer.build(shape, rng, dtype)
                return tuple(layer.output_shape(shape))

            shape = self._call(f"layers[{i}]", f"inner layer {i}", layer, "build", step)

    def output_shape(self, input_shape: Shape) -> Shape:
        shape = tuple(input_shape)
        for i, layer in enumerate(self.layers):
            shape = self._call(f"layers[{i}]", f"inner layer {i}", layer, "output_shape",
                               lambda layer=layer, shape=shape: tuple(layer.output_shape(shape)))
        return shape

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        for i, layer in enumerate(self.layers):
            x = self._call(f"layers[{i}]", f"inner layer {i}", layer, "forward",
                           lambda layer=layer, x=x: layer.forward(x, training))
        return x

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        grad = grad_output
        for i in range(len(self.layers) - 1, -1, -1):
            layer = self.layers[i]
            grad = self._call(f"layers[{i}]", f"inner layer {i}", layer, "backward",
                              lambda layer=layer, grad=grad: layer.backward(grad))
        return grad

    def get_config(self) -> dict[str, Any]:
        return {"layers": [layer_spec(layer) for layer in self.layers]}


@attrs.define(eq=False)
class Residual(Sequential):
    """A residual block: y = x + f(x), where f is the inner layers in a chain; they must
    keep the shape of their input."""

    check_hints: ClassVar[dict] = {
        "config": {"layers": [{"type": "dense", "output_size": 4}, "tanh",
                              {"type": "dense", "output_size": 4}]},
        "input_shape": (4,)}

    def output_shape(self, input_shape: Shape) -> Shape:
        inner = super().output_shape(input_shape)
        if inner != tuple(input_shape):
            index, changed = self._first_shape_change(tuple(input_shape))
            error = ShapeError(
                f"residual adds its input to its inner layers' output, so they must keep the "
                f"shape {tuple(input_shape)}, but they give {inner} ({changed}); make the "
                "last inner layer output the input's size")
            error.inner_key = f"layers[{index}]"
            raise error
        return inner

    def _first_shape_change(self, input_shape: Shape) -> tuple[int, str]:
        """The first inner layer whose output differs from the input's shape, described."""
        shape = input_shape
        for i, layer in enumerate(self.layers):
            out = tuple(layer.output_shape(shape))
            if out != input_shape:
                return i, f"{inner_label(f'inner layer {i}', layer)} outputs {out}"
            shape = out
        return len(self.layers) - 1, "the last inner layer"

    def build(self, input_shape: Shape, rng: np.random.Generator, dtype: np.dtype) -> None:
        super().build(input_shape, rng, dtype)
        self.output_shape(input_shape)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        y = super().forward(x, training)
        return y + x

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        grad = super().backward(grad_output)
        return grad + grad_output


@attrs.define(eq=False)
class Parallel(_Composite):
    """Branches of layers that all see the input, merged: ``concat`` joins their outputs
    along the last axis, ``add`` sums them (they must then have one shape). An empty
    branch is the identity."""

    holds: ClassVar[str] = "branches"
    check_hints: ClassVar[dict] = {
        "config": {"branches": [[{"type": "dense", "output_size": 2}],
                                [{"type": "dense", "output_size": 3}, "tanh"], []]},
        "input_shape": (4,)}

    branches: list[list[LayerProtocol]] = attrs.field(converter=_branches)
    merge: str = attrs.field(default="concat", validator=one_of("concat", "add"))
    _widths: list[int] = attrs.field(init=False, factory=list, repr=False)

    def inner(self) -> list[tuple[str, Any]]:
        return [(f"{b}.{i}", layer) for b, branch in enumerate(self.branches)
                for i, layer in enumerate(branch)]

    def _walk_shapes(self, input_shape: Shape) -> Iterator[tuple[str, Any, Shape]]:
        for b, branch in enumerate(self.branches):
            shape = input_shape
            for i, layer in enumerate(branch):
                yield f"{b}.{i}", layer, shape
                shape = self._call(f"branches[{b}][{i}]", f"branch {b} layer {i}", layer,
                                   "output_shape",
                                   lambda layer=layer, s=shape: tuple(layer.output_shape(s)))

    def _branch_shapes(self, input_shape: Shape) -> list[Shape]:
        shapes = []
        for b, branch in enumerate(self.branches):
            shape = tuple(input_shape)
            for i, layer in enumerate(branch):
                shape = self._call(f"branches[{b}][{i}]", f"branch {b} layer {i}", layer,
                                   "output_shape",
                                   lambda layer=layer, s=shape: tuple(layer.output_shape(s)))
            shapes.append(shape)
        return shapes

    def output_shape(self, input_shape: Shape) -> Shape:
        shapes = self._branch_shapes(input_shape)
        first = shapes[0]
        if self.merge == "add":
            for b, shape in enumerate(shapes):
                if shape != first:
                    raise self._branch_error(b, (
                        f"parallel adds its branches' outputs, so they must have one shape, "
                        f"but branch 0 gives {first} and branch {b} gives {shape}"
                        f"{self._ending(b)}; make the branches end with the same size, or "
                        "merge with 'concat'"))
            return first
        for b, shape in enumerate(shapes):
            if len(shape) != len(first) or shape[:-1] != first[:-1]:
                raise self._branch_error(b, (
                    f"parallel concatenates its branches' outputs along the last axis, so "
                    f"they must agree on the other axes, but branch 0 gives {first} and "
                    f"branch {b} gives {shape}{self._ending(b)}"))
        return (*first[:-1], sum(shape[-1] for shape in shapes))

    @staticmethod
    def _branch_error(branch: int, message: str) -> ShapeError:
        error = ShapeError(message)
        error.inner_key = f"branches[{branch}]"
        return error

    def _ending(self, branch: int) -> str:
        layers = self.branches[branch]
        if not layers:
            return " (it is empty: the identity)"
        last = inner_label(f"branch {branch} layer {len(layers) - 1}", layers[-1])
        return f" (its last layer is {last})"

    def build(self, input_shape: Shape, rng: np.random.Generator, dtype: np.dtype) -> None:
        for b, branch in enumerate(self.branches):
            shape = tuple(input_shape)
            for i, layer in enumerate(branch):
                def step(layer=layer, shape=shape):
                    layer.build(shape, rng, dtype)
                    return tuple(layer.output_shape(shape))

                shape = self._call(f"branches[{b}][{i}]", f"branch {b} layer {i}", layer,
                                   "build", step)
        shapes = self._branch_shapes(input_shape)
        self.output_shape(input_shape)
        self._widths = [shape[-1] if shape else 1 for shape in shapes]

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        outputs = []
        for b, branch in enumerate(self.branches):
            y = x
            for i, layer in enumerate(branch):
                y = self._call(f"branches[{b}][{i}]", f"branch {b} layer {i}", layer,
                               "forward", lambda layer=layer, y=y: layer.forward(y, training))
            outputs.append(y)
        if self.merge == "add":
            total = outputs[0].copy() if outputs[0] is x else outputs[0]
            for y in outputs[1:]:
                total = total + y
            return total
        return np.concatenate(outputs, axis=-1)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        if self.merge == "add":
            parts = [grad_output] * len(self.branches)
        else:
            cuts = np.cumsum(self._widths)[:-1]
            parts = np.split(grad_output, cuts, axis=-1)
        total = None
        for b, branch in enumerate(self.branches):
            grad = parts[b]
            for i in range(len(branch) - 1, -1, -1):
                layer = branch[i]
                grad = self._call(f"branches[{b}][{i}]", f"branch {b} layer {i}", layer,
                                  "backward", lambda layer=layer, g=grad: layer.backward(g))
            total = grad.copy() if total is None else total + grad
        return total

    def get_config(self) -> dict[str, Any]:
        return {"branches": [[layer_spec(layer) for layer in branch]
                             for branch in self.branches], "merge": self.merge}
