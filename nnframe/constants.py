"""Names and values that several modules must agree on, defined once."""

from __future__ import annotations

import re

PROJECT_NAME = "nnframe"
"""The pluggy project name: hooks are marked ``@nnframe.hookimpl`` for it."""
ENTRY_POINT_GROUP = "nnframe"
"""The entry-point group plugins are published under (``[project.entry-points.nnframe]``)."""
BUILTIN_PLUGIN = "nnframe"
"""The plugin name (and distribution) of nnframe's own components."""
BUILTIN_PLUGIN_MODULE = "nnframe.builtin_plugin"
"""The module of the built-in plugin, which the registry loads first."""
LOAD_PLUGINS_ENV = "NNFRAME_LOAD_PLUGINS"
"""The environment variable that chooses plugins: unset loads every installed plugin,
empty none, a comma list of distributions only those."""

PREDICT_CHUNK = 4096
"""Samples per forward pass of `Network.predict` and `Network.evaluate` by default."""

DTYPES = ("float32", "float64")
"""The array dtypes a network can be built in."""

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


MAX_LAYERS = 10_000
"""The most layers (inner layers of composites included) a config or a model file may
describe: far more than any network trained with nnframe, and few enough that reading one
takes seconds, not the minutes that 100,000 layers took."""


def count_layers(entries: object) -> int:
    """How many layers a list of layer entries (config tables or model-file entries)
    describes, inner ``layers`` and ``branches`` included; anything else counts as one."""
    count, stack = 0, [entries]
    while stack:
        value = stack.pop()
        if not isinstance(value, list):
            continue
        for entry in value:
            count += 1
            if isinstance(entry, dict):
                stack.append(entry.get("layers"))
                branches = entry.get("branches")
                if isinstance(branches, list):
                    stack.extend(branches)
    return count
