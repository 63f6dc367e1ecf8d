"""Check hints: what a component needs to be checked (its arguments, its input, its targets).

A plugin gives hints by setting an optional ``check_hints`` dict on the factory it registers
(a class attribute, or an attribute of a factory function). Every key is optional::

    class Conv2D(nnframe.Layer):
        check_hints = {"config": {"filters": 4, "kernel_size": 3}, "input_shape": (6, 6, 2)}

    class CrossEntropy(nnframe.Loss):
        check_hints = {"targets": "classes"}

Keys (the defaults depend on the kind of component):

- ``config``: constructor arguments to check the component with (default none).
- ``input_shape``: one sample's shape: a layer's input, a loss's predictions. Without it a
  loss gets ``(4,)``, and a layer the first of ``(4,)`` (features) and ``(6, 6, 2)`` (a
  channels-last image) that it builds for.
- ``inputs``: how to draw a layer's input or a loss's predictions: ``"normal"`` (default),
  ``"positive"`` (in (0.5, 1.5)), ``"probabilities"`` (rows over the last axis that sum to
  1) or ``"indices"`` (the whole numbers 0 and 1, as floats, for a layer that looks its
  input up, such as an embedding with at least two rows). Indices are not differentiable:
  the kit then expects dE/dX to be zeros instead of perturbing the input.
- ``targets``: a loss's targets: ``"normal"`` (default), ``"binary"`` (0 or 1),
  ``"probabilities"``, ``"one_hot"`` or ``"classes"`` (integer labels, one per sample).
- ``batch_size``: samples per batch, at least 2 (default 3).
- ``tolerance``: the relative part of the tolerance between ``backward`` and finite
  differences in float64 (default ``1e-6``). Each element may also differ by the rounding
  a central difference carries (machine epsilon times the magnitude of the checked
  energy's terms over the step; see `nnframe.testing.gradients`), so an element that
  cancels to almost zero is not failed for float64 noise.
- ``steps``: optimizer steps on the test quadratic (default 100).
- ``large_inputs``: whether the component takes inputs of any magnitude (default true): the
  kit then feeds values up to 1e4 and fails on overflow or a result that is not finite.
  Set it false for a layer whose inputs are bounded by nature (indices, probabilities).

A stochastic layer needs no hint if it draws its randomness from the generator given to
``build``: the kit rewinds that generator before every forward pass it compares.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from nnframe.errors import ConfigError

HINTS_ATTRIBUTE = "check_hints"
"""The attribute of a registered factory that the kit reads its hints from."""
#: Sample shapes tried, in order, for a layer without an ``input_shape`` hint.
LAYER_SHAPES = ((4,), (6, 6, 2))
LOSS_SHAPE = (4,)
INPUT_KINDS = ("normal", "positive", "probabilities", "indices")
TARGET_KINDS = ("normal", "binary", "probabilities", "one_hot", "classes")


def _shape(value: Any) -> tuple[int, ...] | None:
    if value is None:
        return None
    try:
        shape = tuple(int(s) for s in value)
    except TypeError:
        raise ConfigError(f"input_shape must be a sequence of sizes, got {value!r}") from None
    if any(s <= 0 for s in shape):
        raise ConfigError(f"input_shape must hold positive sizes, got {value!r}")
    return shape


def _choice(choices: tuple[str, ...]):
    def check(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
        if value not in choices:
            raise ConfigError(f"{attribute.name} must be one of {', '.join(choices)}, "
                              f"got {value!r}")

    return check


def _at_least(minimum: float, kind: type | tuple[type, ...] = (int, float)):
    noun = "an integer" if kind is int else "a number"

    def check(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, kind) or value < minimum:
            raise ConfigError(f"{attribute.name} must be {noun} >= {minimum}, got {value!r}")

    return check


@attrs.frozen
class CheckHints:
    """The hints for one component, with defaults filled in (see the module docstring)."""

    config: dict[str, Any] = attrs.field(factory=dict, converter=dict)
    input_shape: tuple[int, ...] | None = attrs.field(default=None, converter=_shape)
    inputs: str = attrs.field(default="normal", validator=_choice(INPUT_KINDS))
    targets: str = attrs.field(default="normal", validator=_choice(TARGET_KINDS))
    batch_size: int = attrs.field(default=3, validator=_at_least(2, int))
    tolerance: float = attrs.field(default=1e-6, validator=_at_least(0.0))
    steps: int = attrs.field(default=100, validator=_at_least(1, int))
    large_inputs: bool = attrs.field(default=True, validator=attrs.validators.instance_of(bool))

    def merged(self, overrides: Mapping[str, Any]) -> CheckHints:
        """These hints with ``overrides`` applied; ``config`` dicts are merged key by key."""
        overrides = dict(overrides)
        _check_keys(overrides)
        if "config" in overrides:
            overrides["config"] = {**self.config, **overrides["config"]}
        return attrs.evolve(self, **overrides)


def _check_keys(hints: Mapping[str, Any]) -> None:
    known = [field.name for field in attrs.fields(CheckHints)]
    unknown = sorted(set(hints) - set(known))
    if unknown:
        raise ConfigError(f"unknown check hint {', '.join(map(repr, unknown))}; "
                          f"known hints: {', '.join(known)}")


def factory_hints(factory: Any) -> CheckHints:
    """The factory's own ``check_hints`` over the defaults (`ConfigError` if they are bad)."""
    given = getattr(factory, HINTS_ATTRIBUTE, None) or {}
    if not isinstance(given, Mapping):
        raise ConfigError(f"{HINTS_ATTRIBUTE} must be a dict, got {type(given).__name__}")
    return CheckHints().merged(given)


def explicit_hints(hints: Mapping[str, Any] | None, config: Mapping[str, Any],
                   **fields: Any) -> dict[str, Any]:
    """The hints a caller of ``check_*`` gave: ``hints=``, constructor ``**config`` and any
    of the named fields that are not None."""
    given = dict(hints or {})
    given.update({key: value for key, value in fields.items() if value is not None})
    if config:
        given["config"] = {**given.get("config", {}), **config}
    return given
