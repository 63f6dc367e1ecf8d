"""`GraphBuilder`: what converters add their part of an ONNX graph through.

It hands out unique tensor names (prefixed by the layer being converted, so that a graph
viewer shows ``layer_3_conv2d/Conv``), stores constants as float32 (int64 for integers),
adds nodes, resolves each layer's converter and names the layer in every error. Layout
changes cancel: ``transpose`` of a tensor that is itself a transpose returns the original
when the two permutations undo each other, and ``elementwise`` operators (relu, tanh) move
before a transpose, so consecutive conv2d, activation and pooling layers stay
channels-first inside the graph; transposes nobody reads are dropped at the end. onnx is
imported when a builder is made, not with this module.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

from nnframe.core.contracts import Shape
from nnframe.core.registry import Component, component_of
from nnframe.errors import ExportError, NNFrameError
from nnframe.extras import require
from nnframe.layers.composite import inner_label
from nnframe.onnx import MINIMUM_ONNX
from nnframe.onnx.lookup import converter_for

if TYPE_CHECKING:
    import onnx

#: Set on an error once it names the layer it comes from, so that the composites around
#: that layer do not name it again.
_LABELLED = "_nnframe_export_labelled"



def require_onnx() -> ModuleType:
    """The ``onnx`` module, or `MissingExtraError` saying how to install it."""
    return require("onnx", "onnx", "exporting to ONNX", package="the onnx package",
                   minimum=MINIMUM_ONNX)

class GraphBuilder:
    """An ONNX graph under construction, one layer at a time.

    Converters use `constant`, `node`, `transpose`, `elementwise`, `sample_shape` and,
    for composite layers, `convert`; ``opset`` is the ONNX opset being written (17 or
    later).
    """

    def __init__(self, opset: int,
                 lookup: Callable[[Component], Component | None] = converter_for) -> None:
        self._onnx = require_onnx()  # here, so that converters can import this module
        self.opset = opset
        self._lookup = lookup
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._tensors: set[str] = set()
        self._node_names: set[str] = set()
        self._producers: dict[str, onnx.NodeProto] = {}
        self._shapes: dict[str, Shape] = {}
        self._scopes: list[str] = []
        self._labels: list[str] = []
        #: What was converted, nested as the layers are: for the model's metadata.
        self.converted: list[dict[str, Any]] = []
        self._children: list[list[dict[str, Any]]] = [self.converted]

    # -- names, constants and nodes ------------------------------------------------------

    def fresh(self, hint: str) -> str:
        """A tensor name not used yet: ``hint`` inside the current layer's scope."""
        return self._unique("/".join([*self._scopes, hint]), self._tensors)

    @staticmethod
    def _unique(name: str, taken: set[str]) -> str:
        candidate, number = name, 1
        while candidate in taken:
            candidate = f"{name}_{number}"
            number += 1
        taken.add(candidate)
        return candidate

    def add_input(self, name: str, sample_shape: Sequence[int]) -> str:
        """Declare a graph input called exactly ``name`` (the caller declares its type)."""
        if name in self._tensors:
            raise ValueError(f"the tensor name {name!r} is taken")
        self._tensors.add(name)
        self._shapes[name] = tuple(int(n) for n in sample_shape)
        return name

    def constant(self, value: Any, hint: str = "constant") -> str:
        """Store an array as an initializer and return its name. Floating-point values
        are stored as float32 (the exported graph is float32 throughout), integers as
        int64 (what ONNX wants for shapes, axes and indices), booleans as they are."""
        array = np.asarray(value)
        if array.dtype.kind == "f":
            array = array.astype(np.float32)
        elif array.dtype.kind in "iu":
            array = array.astype(np.int64)
        elif array.dtype.kind != "b":
            raise TypeError(f"a constant must hold numbers or booleans, got {array.dtype}")
        name = self.fresh(hint)
        self.initializers.append(
            self._onnx.numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(self, op_type: str, inputs: Sequence[str], *, outputs: int | Sequence[str | None] = 1,
             domain: str = "", **attributes: Any) -> Any:
        """Add one node of the standard operator set (or of ``domain``) and return the name
        of its output, or a list of names when ``outputs`` is more than 1 or a sequence.

        ``outputs`` may be a count, or one hint per output, None for an optional output
        that is left out (ONNX's empty name). ``attributes`` are the operator's
        attributes (``kernel_shape=[3, 3]``); an empty input name leaves out an optional
        input. Inputs must be tensors that exist already.
        """
        for name in inputs:
            if name and name not in self._tensors:
                raise ValueError(f"{op_type}: unknown input tensor {name!r}")
        if isinstance(outputs, int):
            hints: list[str | None] = [op_type if outputs == 1 else f"{op_type}_{k}"
                                       for k in range(outputs)]
        else:
            hints = list(outputs)
        names = [self.fresh(hint) if hint is not None else "" for hint in hints]
        node_name = self._unique("/".join([*self._scopes, op_type]), self._node_names)
        node = self._onnx.helper.make_node(op_type, list(inputs), names, name=node_name,
                                           domain=domain or None, **attributes)
        self.nodes.append(node)
        for name in names:
            if name:
                self._producers[name] = node
        if isinstance(outputs, int) and outputs == 1:
            return names[0]
        return names

    def transpose(self, x: str, perm: Sequence[int]) -> str:
        """``x`` with its axes permuted (ONNX Transpose); a transpose that undoes the one
        that made ``x`` gives back that one's input instead, adding nothing."""
        perm = [int(axis) for axis in perm]
        producer = self._producers.get(x)
        if producer is not None and producer.op_type == "Transpose":
            (before,) = [list(a.ints) for a in producer.attribute if a.name == "perm"]
            if len(before) == len(perm) and all(before[perm[k]] == k for k in range(len(perm))):
                return producer.input[0]
        return self.node("Transpose", [x], perm=perm)

    def elementwise(self, op_type: str, x: str, **attributes: Any) -> str:
        """An operator that acts on each element alone (Relu, Tanh, ...) applied to ``x``.
        When ``x`` is a transpose it is applied before that transpose instead, so that a
        layout change can cancel against the next one (conv, relu, pool stay NCHW)."""
        producer = self._producers.get(x)
        if producer is not None and producer.op_type == "Transpose":
            (perm,) = [list(a.ints) for a in producer.attribute if a.name == "perm"]
            inner = self.node(op_type, [producer.input[0]], **attributes)
            return self.node("Transpose", [inner], perm=perm)
        return self.node(op_type, [x], **attributes)

    def sample_shape(self, x: str) -> Shape | None:
        """The sample shape (no batch axis) of a layer's input or output tensor, as
        nnframe lays it out; None for tensors made inside a converter."""
        return self._shapes.get(x)

    # -- layers --------------------------------------------------------------------------

    def convert(self, layer: Any, x: str, where: str) -> str:
        """Add the nodes of ``layer`` (found through its registered converter) on the
        tensor ``x``; return its output tensor. ``where`` names the layer in errors and
        tensor names: ``"layer 3"``, or ``"inner layer 1"`` inside a composite."""
        label = inner_label(where, layer)
        path = ", ".join([*self._labels, label])
        found = component_of("layer", layer)
        if found is None:
            raise _labelled(ExportError(
                f"{path} is not a registered layer, so it has no ONNX converter; build "
                "it by registered name from a plugin that registers it and its converter"))
        try:
            registered = self._lookup(found)
        except NNFrameError as exc:  # several plugins claim the layer
            raise _labelled(type(exc)(f"{path}: {exc}")) from None
        if registered is None:
            raise _labelled(ExportError(
                f"{path} has no ONNX converter; {found.distribution} registers none for "
                f"{found.name!r} and no other plugin converts it (plugins convert their "
                "layers through the register_converters hook)"))
        entry: dict[str, Any] = {
            "where": where, "name": found.name, "distribution": found.distribution,
            "version": found.version, "converter": registered.qualified_name,
            "converter_version": registered.version}
        self._children[-1].append(entry)
        input_shape = self._shapes.get(x)
        self._labels.append(label)
        self._scopes.append(f"{re.sub(r'[^0-9A-Za-z]+', '_', where)}_{found.name}")
        self._children.append(entry.setdefault("layers", []))
        try:
            output = self._call(registered, layer, x, path)
        finally:
            self._labels.pop()
            self._scopes.pop()
            self._children.pop()
        if not entry["layers"]:
            del entry["layers"]
        if input_shape is not None:
            self._shapes[output] = tuple(layer.output_shape(input_shape))
        return output

    def _call(self, registered: Component, layer: Any, x: str, path: str) -> str:
        try:
            output = registered.factory().convert(layer, x, self)
        except NNFrameError as exc:
            if getattr(exc, _LABELLED, False):
                raise
            raise _labelled(type(exc)(f"{path}: {exc}")) from exc
        except Exception as exc:  # plugin code: name the converter and its distribution
            raise _labelled(ExportError(
                f"{path}: its ONNX converter {registered.qualified_name} raised "
                f"{type(exc).__name__}: {exc}")) from exc
        if not isinstance(output, str) or output not in self._tensors:
            raise _labelled(ExportError(
                f"{path}: its ONNX converter {registered.qualified_name} returned "
                f"{output!r}, not the name of a tensor of the graph"))
        return output

    # -- the finished graph --------------------------------------------------------------

    def finish(self, output: str, name: str) -> tuple[list[onnx.NodeProto],
                                                      list[onnx.TensorProto]]:
        """The nodes and initializers that compute ``output``, which is renamed ``name``
        (or copied to it by an Identity node when it cannot be renamed); nodes and
        constants that nothing needs are dropped."""
        producer = self._producers.get(output)
        read = any(output in node.input for node in self.nodes)
        if producer is not None and not read and name not in self._tensors:
            index = list(producer.output).index(output)
            producer.output[index] = name
            self._tensors.add(name)
        else:
            self._tensors.add(name)
            self.nodes.append(self._onnx.helper.make_node(
                "Identity", [output], [name], name=self._unique("output", self._node_names)))
        needed = {name}
        kept: list[onnx.NodeProto] = []
        for node in reversed(self.nodes):
            if any(out in needed for out in node.output if out):
                kept.append(node)
                needed.update(i for i in node.input if i)
        kept.reverse()
        return kept, [t for t in self.initializers if t.name in needed]


def _labelled(exc: Exception) -> Exception:
    setattr(exc, _LABELLED, True)
    return exc
