"""Reading a TOML file, with errors that say which file and which line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from nnframe.errors import ConfigError
from nnframe.modelfile.regular_files import open_regular

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

#: A config is a few hundred bytes; a file far larger is a mistake (or /dev/urandom's kin).
MAX_CONFIG_BYTES = 16 * 2**20
#: Levels of arrays and tables a config may nest (composite layers need a handful).
MAX_NESTING = 64


def read_toml(path: str | Path) -> dict[str, Any]:
    """The parsed TOML document, or a `ConfigError` naming the file (and the line)."""
    path = Path(path)
    with open_regular(path, "config file", ConfigError) as file:
        try:
            data = file.read(MAX_CONFIG_BYTES + 1)
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read the config file ({exc.strerror or exc})"
                              ) from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: is larger than {MAX_CONFIG_BYTES // 2**20} MiB, far more "
                          "than any training config")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}: line {line}: not UTF-8 text; TOML files are UTF-8") from None
    text = text.removeprefix("\ufeff")  # a byte-order mark that some Windows editors write
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except RecursionError:  # the parser recurses once per level of nesting
        raise ConfigError(f"{path}: arrays or tables nested too deeply to read; a config "
                          f"nests at most {MAX_NESTING} levels") from None
    check_nesting(document, str(path))
    return document


def check_nesting(document: dict[str, Any], source: str) -> None:
    """Refuse a document nested deeper than `MAX_NESTING`, so that no later step that walks
    it recursively (checks, messages, composite layers) can exhaust Python's stack."""
    stack: list[tuple[dict | list, int]] = [(document, 1)] if isinstance(document, dict) else []
    while stack:
        value, depth = stack.pop()
        if depth > MAX_NESTING:
            raise ConfigError(f"{source}: arrays or tables nested more than {MAX_NESTING} "
                              "levels deep; no config needs that many")
        children = value.values() if isinstance(value, dict) else value
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, (dict, list)))
