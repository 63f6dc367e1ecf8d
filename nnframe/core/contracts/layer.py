"""The layer contract: forward, backward, parameters, gradients and state."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import attrs
import numpy as np

from nnframe.core.contracts.config import config_of

Shape = tuple[int, ...]


@runtime_checkable
class LayerProtocol(Protocol):
    """What a network needs from a layer. Any object with these members is a layer.

    Parameters live in ``params`` and their gradients in ``grads``, under the same keys,
    both filled by `build`. After building, a network moves every parameter and gradient
    into one buffer each and puts views of them back into these dicts, so a layer must read
    ``self.params[name]`` and write ``self.grads[name]`` *in place* on every call (``out=``
    or ``[...] =``), never put new arrays into the dicts; the network checks this after the
    first training batch.

    Members a layer may have besides these are declared by `LayerOptions`.
    """

    def build(self, input_shape: Shape, rng: np.random.Generator, dtype: np.dtype) -> None:
        """Create ``params`` (and their zeroed ``grads``) for one sample's shape, with no
        batch axis, drawing random values only from ``rng``, in ``dtype``."""

    def output_shape(self, input_shape: Shape) -> Shape:
        """One output sample's shape for one input sample's shape (no batch axis)."""

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """The output for a batch ``x`` (batch first). With ``training`` true, cache what
        `backward` needs (and update ``state``); with it false, change nothing."""

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """Given dE/dY of the last training forward, write dE/dparams into ``grads``
        (summed over the batch) and return dE/dX. Never changes ``params``."""

    params: dict[str, np.ndarray]
    """The trainable arrays by name (``weights``, ``bias``), created by `build`."""
    grads: dict[str, np.ndarray]
    """dE/dparams under the same names and shapes, written by `backward` in place."""

    def get_config(self) -> dict[str, Any]:
        """JSON-safe constructor arguments: the registered factory called with them must
        rebuild a layer that computes the same outputs from the same weights."""


class LayerOptions(Protocol):
    """Members a layer may have; nnframe uses each one a layer has (read with getattr)."""

    state: dict[str, np.ndarray]
    """Arrays that are not trained (running statistics): ``forward(x, training=True)``
    may update them in place, ``training=False`` only reads them. Saved in model files,
    kept with the weights when training restores a snapshot, never given to an optimizer."""
    layers: list[Any]
    """A composite's inner layers (or ``branches``, a list of lists), so that model files,
    summaries and the kit see through it; its ``params``, ``grads`` and ``state`` hold
    theirs under ``"<inner index>.<name>"`` (``"<branch>.<index>.<name>"``)."""

    def backward_parameters(self, grad_output: np.ndarray) -> None:
        """Fill ``grads`` exactly as `backward` does without computing dE/dX: training
        calls it on the first layer with parameters. A subclass that overrides `backward`
        must override this too (or set it to None)."""

    def parameter_shapes(self, input_shape: Shape) -> dict[str, Shape] | None:
        """Every parameter's shape `build` would create, on the unbuilt layer, without
        allocating (None: cannot tell): loading refuses a file whose weights do not match
        before any memory is spent. Raise `ShapeError` where `build` would."""

    def inner_layers(self) -> list[tuple[str, Any]]:
        """For a layer that builds its inner layers from its config (a transformer block):
        the named layers whose arrays it holds under ``"<name>.<key>"``; summaries show
        them from ``inner_input_shape(input_shape)`` when it defines that."""


@attrs.define(eq=False)
class Layer:
    """Optional base class for layers: no parameters, no state, shape-preserving, config
    from the attrs fields.

    Subclasses are attrs classes (``@attrs.define(eq=False)``) whose ``init`` fields are
    the constructor arguments; ``params``, ``grads`` and ``state`` start empty. Subclasses
    implement `forward` and `backward`, and `build` and `output_shape` when they have
    parameters or change the shape.
    """

    params: dict[str, np.ndarray] = attrs.field(init=False, factory=dict, repr=False)
    """The trainable arrays by name; empty until `build` creates them."""
    grads: dict[str, np.ndarray] = attrs.field(init=False, factory=dict, repr=False)
    """dE/dparams under the same names; `backward` writes into these arrays in place."""
    state: dict[str, np.ndarray] = attrs.field(init=False, factory=dict, repr=False)
    """Arrays that are not trained (running statistics): saved in model files, updated
    only by ``forward(x, training=True)``, never given to an optimizer."""

    def build(self, input_shape: Shape, rng: np.random.Generator, dtype: np.dtype) -> None:
        """Create parameters (and state) for one sample's shape; nothing to do without."""

    def output_shape(self, input_shape: Shape) -> Shape:
        """The input shape: most layers keep it."""
        return tuple(input_shape)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """The layer's output; cache for `backward` only when ``training``."""
        raise NotImplementedError(f"{type(self).__name__} must implement forward()")

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """Fill ``grads`` from dE/dY and return dE/dX."""
        raise NotImplementedError(f"{type(self).__name__} must implement backward()")

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, read from the attrs fields (see `config_of`)."""
        return config_of(self)
