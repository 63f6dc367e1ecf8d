"""Typed reading of TOML tables: every wrong type or unknown key becomes a problem."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from nnframe.config.problems import Problems

MISSING: Any = object()


def toml_type(value: Any) -> str:
    """The TOML name of a value's type, as a user wrote it."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return f"a {type(value).__name__}"


def shown(value: Any) -> str:
    """A value as in the TOML file, with its type: ``"ten" (a string)``."""
    text = f'"{value}"' if isinstance(value, str) else repr(value)
    if isinstance(value, bool):
        text = str(value).lower()
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{text} ({toml_type(value)})"


def suggestion(name: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for a close match, else ``""``."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""


def check_keys(problems: Problems, table: dict[str, Any], section: str,
               known: Iterable[str]) -> None:
    """A problem for every key of ``table`` that is not in ``known``."""
    known = list(known)
    for key in table:
        if key not in known:
            problems.add(join(section, key), f"unknown key{suggestion(key, known)}; "
                         f"[{section}] takes {', '.join(known)}")


def join(section: str, key: str) -> str:
    return f"{section}.{key}" if section else key


def table(problems: Problems, parent: dict[str, Any], section: str, key: str,
          required: bool, example: str) -> dict[str, Any] | None:
    """The sub-table ``parent[key]``; a problem when it is missing (and required) or not a table."""
    value = parent.get(key, MISSING)
    where = join(section, key)
    if value is MISSING:
        if required:
            problems.add(where, f"missing; add a [{where}] table, for example: {example}")
        return None
    if not isinstance(value, dict):
        problems.add(where, f"must be a table ([{where}]), got {shown(value)}")
        return None
    return value


def integer(problems: Problems, values: dict[str, Any], section: str, key: str,
            default: Any = MISSING, minimum: int | None = None) -> Any:
    """An integer (not a boolean) >= ``minimum``; ``default`` when absent."""
    value = values.get(key, MISSING)
    if value is MISSING:
        return _default(problems, section, key, default, "an integer")
    bound = f" >= {minimum}" if minimum is not None else ""
    if (not isinstance(value, int) or isinstance(value, bool)
            or (minimum is not None and value < minimum)):
        problems.add(join(section, key), f"must be an integer{bound}, got {shown(value)}")
        return None
    return value


def number(problems: Problems, values: dict[str, Any], section: str, key: str,
           default: Any = MISSING, low: float = -float("inf"), high: float = float("inf"),
           high_inclusive: bool = True, low_inclusive: bool = True) -> Any:
    """A float (integers accepted) between ``low`` and ``high``, each bound included or
    not; never NaN."""
    value = values.get(key, MISSING)
    if value is MISSING:
        return _default(problems, section, key, default, "a number")
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    above = number and (low <= value if low_inclusive else low < value)
    below = number and (value <= high if high_inclusive else value < high)
    if not (above and below):
        left = "[" if low_inclusive else "("
        right = "]" if high_inclusive else ")"
        problems.add(join(section, key),
                     f"must be a number in {left}{low:g}, {high:g}{right}, got {shown(value)}")
        return None
    return float(value)


def boolean(problems: Problems, values: dict[str, Any], section: str, key: str,
            default: Any = MISSING) -> Any:
    value = values.get(key, MISSING)
    if value is MISSING:
        return _default(problems, section, key, default, "true or false")
    if not isinstance(value, bool):
        problems.add(join(section, key), f"must be true or false, got {shown(value)}")
        return None
    return value


def string(problems: Problems, values: dict[str, Any], section: str, key: str,
           default: Any = MISSING, choices: Iterable[str] | None = None) -> Any:
    value = values.get(key, MISSING)
    if value is MISSING:
        return _default(problems, section, key, default, "a string")
    if not isinstance(value, str):
        problems.add(join(section, key), f"must be a string, got {shown(value)}")
        return None
    if choices is not None and value not in (choices := list(choices)):
        problems.add(join(section, key), f"must be one of {', '.join(map(repr, choices))}, "
                     f"got {value!r}{suggestion(value, choices)}")
        return None
    return value


def _default(problems: Problems, section: str, key: str, default: Any, kind: str) -> Any:
    if default is MISSING:
        problems.add(join(section, key), f"missing; give {kind}")
        return None
    return default
