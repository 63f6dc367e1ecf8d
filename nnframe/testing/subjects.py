"""What the kit checks: a component resolved from a name or a factory, and data to feed it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import numpy as np

from nnframe.core.registry import Component, check_built, get_registry


@attrs.frozen
class Subject:
    """A component to check: its kind, the name it is reported under, its factory, and its
    registry entry when it was given by name."""

    kind: str
    label: str
    factory: Callable[..., Any] = attrs.field(repr=False)
    component: Component | None = attrs.field(default=None, repr=False)

    def make(self, **config: Any) -> Any:
        """A new component from the factory, known to the registry as its component (so
        that it can be saved in a model file, whatever kind of factory made it)."""
        built = self.factory(**config)
        if self.component is not None:
            check_built(self.component, built)
            get_registry().remember(built, self.component)
        return built


def resolve(kind: str, factory_or_name: Any) -> Subject:
    """A registered name (bare or ``distribution:name``), a `Component`, or a factory."""
    if isinstance(factory_or_name, Component):
        component = factory_or_name
        if component.kind != kind:
            raise TypeError(f"{component.qualified_name} is a {component.kind}, not a {kind}")
        return Subject(kind, component.qualified_name, component.factory, component)
    if isinstance(factory_or_name, str):
        component = get_registry().get(kind, factory_or_name)
        return Subject(kind, component.qualified_name, component.factory, component)
    if not callable(factory_or_name):
        raise TypeError(f"expected a {kind} name or factory, got {factory_or_name!r}")
    name = getattr(factory_or_name, "__qualname__", None) or repr(factory_or_name)
    return Subject(kind, name, factory_or_name)


def draw(kind: str, shape: tuple[int, ...], rng: np.random.Generator,
         dtype: Any = np.float64) -> np.ndarray:
    """Random data of a hinted kind (see `nnframe.testing.hints`)."""
    if kind == "normal":
        data = rng.standard_normal(shape)
    elif kind == "positive":
        data = rng.uniform(0.5, 1.5, shape)
    elif kind == "probabilities":
        logits = rng.standard_normal(shape)
        data = np.exp(logits - logits.max(axis=-1, keepdims=True))
        data /= data.sum(axis=-1, keepdims=True)
    elif kind in ("binary", "indices"):  # indices: 0 and 1, valid for any table of 2 rows
        data = rng.integers(0, 2, shape)
    elif kind == "one_hot":
        data = np.eye(shape[-1])[rng.integers(0, shape[-1], shape[:-1])]
    elif kind == "classes":  # one integer label per sample (and position), classes last
        return rng.integers(0, shape[-1], shape[:-1])
    else:
        raise ValueError(f"unknown kind of data {kind!r}")
    return data.astype(dtype)


class Rewind:
    """Remembers a generator's state so that stochastic passes can be replayed exactly."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.state = rng.bit_generator.state

    def __call__(self) -> None:
        self.rng.bit_generator.state = self.state
