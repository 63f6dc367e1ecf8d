"""attrs validators for constructor arguments, raising `ConfigError` that names the component.

Hyperparameters are stored as Python ``float``/``int`` so they never promote float32 arrays.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from nnframe.errors import ConfigError


def _fail(instance: Any, name: str, message: str, value: Any) -> ConfigError:
    """The error for argument ``name``; its ``argument`` attribute names it, so that a
    config can report the key it came from."""
    error = ConfigError(f"{type(instance).__name__}: {name} {message}, got {value!r}")
    error.argument = name
    return error


def to_float(value: Any) -> Any:
    """Convert real numbers (not bools) to Python floats; leave the rest for the validator."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    return value


def to_int(value: Any) -> Any:
    """Convert integral numbers (not bools) to Python ints; leave the rest for the validator."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    return value


def check_int(name: str, value: Any, minimum: int) -> None:
    """`ConfigError` unless ``value`` is an integer (not a bool) >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")


def non_negative(instance: Any, attribute: Any, value: Any) -> None:
    """A finite number >= 0: learning rates, eps, weight decay, slopes.

    Infinity is refused like NaN: a rate of ``inf`` would pass a bare ``>= 0`` and only
    show up later as NaN weights and NumPy warnings.
    """
    if not isinstance(value, float) or not 0.0 <= value < math.inf:
        raise _fail(instance, attribute.name, "must be a number >= 0 and finite", value)


def positive_float(instance: Any, attribute: Any, value: Any) -> None:
    """A finite number > 0."""
    if not isinstance(value, float) or not 0.0 < value < math.inf:
        raise _fail(instance, attribute.name, "must be a number > 0 and finite", value)


def unit_interval(instance: Any, attribute: Any, value: Any) -> None:
    """A value in [0, 1): rates, momentum, decay factors."""
    if not isinstance(value, float) or not 0.0 <= value < 1.0:
        raise _fail(instance, attribute.name, "must be a number in [0, 1)", value)


def fraction(instance: Any, attribute: Any, value: Any) -> None:
    """A value in [0, 1], both ends included: a normalisation layer's momentum."""
    if not isinstance(value, float) or not 0.0 <= value <= 1.0:
        raise _fail(instance, attribute.name, "must be a number in [0, 1]", value)


def positive_int(instance: Any, attribute: Any, value: Any) -> None:
    """An integer (not a bool) > 0: sizes, counts."""
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise _fail(instance, attribute.name, "must be a positive integer", value)


def optional_positive_int(instance: Any, attribute: Any, value: Any) -> None:
    """None (inferred later, such as a size known at build), or a positive integer."""
    if value is not None:
        positive_int(instance, attribute, value)


def one_of(*choices: str):
    """Validator: the value is one of the given strings."""

    def check(instance: Any, attribute: Any, value: Any) -> None:
        if value not in choices:
            raise _fail(
                instance, attribute.name, f"must be one of {', '.join(map(repr, choices))}", value
            )

    return check


def boolean(instance: Any, attribute: Any, value: Any) -> None:
    """True or False (not 0/1 or a string: "false" would read as true)."""
    if not isinstance(value, bool):
        raise _fail(instance, attribute.name, "must be true or false", value)
