"""The converter contract: how a layer becomes nodes of an ONNX graph (``nnframe export``).

A converter is registered under the name of the layer it converts, through the hook
``register_converters``, usually by the distribution that registers the layer; see
`nnframe.onnx.lookup` for how a layer finds its converter. It never imports ONNX itself: it
adds constants and nodes through the `nnframe.onnx.GraphBuilder` it is given, which
imports ``onnx`` only when a network is exported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

import attrs

from nnframe.core.contracts.config import config_of

if TYPE_CHECKING:
    from nnframe.onnx.graph import GraphBuilder


@runtime_checkable
class ConverterProtocol(Protocol):
    """What export needs from a converter. Any object with these members is one."""

    def convert(self, layer: Any, x: str, graph: GraphBuilder) -> str:
        """Add the nodes that compute ``layer`` (built, in inference) on the tensor named
        ``x`` to ``graph``, reading the layer's ``params``, ``state`` and config; return the
        name of the output tensor.

        Tensors between layers are batch first and laid out as nnframe lays them out
        (images channels-last); a converter that needs another layout transposes inside
        (``graph.transpose``). ``graph.sample_shape(x)`` is the input's sample shape, and
        a composite converts its inner layers with ``graph.convert(inner, x, where)``.
        """

    def get_config(self) -> dict[str, Any]:
        """JSON-safe constructor arguments."""


@attrs.define(eq=False)
class Converter:
    """Optional base class for converters: no arguments, ``get_config`` from the attrs
    fields, and `converts` unset.

    Subclasses implement `convert` (see `ConverterProtocol.convert`).
    """

    converts: ClassVar[str | None] = None
    """``"distribution:name"`` of the layer this converter converts when that layer is
    another distribution's; None (the default): the layer registered under the converter's
    own name by the converter's own distribution (see `nnframe.onnx.lookup`)."""

    def convert(self, layer: Any, x: str, graph: GraphBuilder) -> str:
        """Add the layer's nodes to ``graph``; return the name of its output tensor."""
        raise NotImplementedError(f"{type(self).__name__} must implement convert()")

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, read from the attrs fields (see `config_of`)."""
        return config_of(self)


__all__ = ["Converter", "ConverterProtocol"]
