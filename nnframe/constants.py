"""Names and values that several modules must agree on, defined once."""

from __future__ import annotations

import re

#: The pluggy project name, and the entry-point group plugins are published under.
PROJECT_NAME = "nnframe"
ENTRY_POINT_GROUP = "nnframe"
#: The plugin name of nnframe's own components.
BUILTIN_PLUGIN = "nnframe"
#: Unset: load every installed plugin; empty: none; a comma list: only those distributions.
LOAD_PLUGINS_ENV = "NNFRAME_LOAD_PLUGINS"

#: The array dtypes a network can be built in.
DTYPES = ("float32", "float64")

#: A registered component name: a letter or _, then letters, digits, _, . and -. ``\Z``
#: (not ``$``, which also matches before a trailing newline) ends the match.
NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\Z")
#: A distribution name as packaging tools accept it.
DISTRIBUTION_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")


def is_component_name(name: object) -> bool:
    """Whether ``name`` is a string that a component may be registered under."""
    return isinstance(name, str) and NAME_PATTERN.match(name) is not None


def normalize_distribution(name: str) -> str:
    """PEP 503 normal form, so ``nnframe_conv`` and ``nnframe-conv`` are the same plugin."""
    return re.sub(r"[-_.]+", "-", name).lower()
