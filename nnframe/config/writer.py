"""Writing a config back as TOML (``nnframe tune --best``): tables, and inline tables and
arrays inside them, the shapes a training config has. Proven by reading the text back."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from nnframe.config.toml import tomllib

BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def dump_toml(document: dict[str, Any], header: str = "") -> str:
    """``document`` as TOML text that reads back equal: its plain values first, then one
    ``[table]`` per table (tables nested deeper written inline). ``header`` lines become
    comments at the top."""
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    tables = {key: value for key, value in document.items() if isinstance(value, dict)}
    for key, value in document.items():
        if key not in tables:
            lines.append(f"{_key(key)} = {_value(value)}")
    for name, table in tables.items():
        if lines:
            lines.append("")
        lines.append(f"[{_key(name)}]")
        for key, value in table.items():
            if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
                inner = ",\n".join(f"    {_value(item)}" for item in value)
                lines.append(f"{_key(key)} = [\n{inner},\n]")
            else:
                lines.append(f"{_key(key)} = {_value(value)}")
    text = "\n".join(lines) + "\n"
    if tomllib.loads(text) != document:  # never write a file that reads back otherwise
        raise ValueError("the config cannot be written as TOML faithfully")
    return text


def _key(key: str) -> str:
    return key if BARE_KEY.fullmatch(key) else json.dumps(key)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")
