"""Collecting every problem in a config file, so they can be reported together."""

from __future__ import annotations

import attrs

from nnframe.errors import ConfigError


class ConfigFileError(ConfigError):
    """A config file with one or more problems, each naming the file and the key."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = list(problems)
        if len(self.problems) == 1:
            message = self.problems[0]
        else:
            listing = "\n  ".join(self.problems)
            message = f"{source}: {len(self.problems)} problems:\n  {listing}"
        super().__init__(message)


@attrs.define
class Problems:
    """Problems found so far, each as ``"<file>: <key>: <message>"``."""

    source: str
    items: list[str] = attrs.Factory(list)
    keys: set[str] = attrs.Factory(set)

    def add(self, key: str, message: str) -> None:
        self.keys.add(key)
        self.items.append(f"{self.source}: {key}: {message}" if key else
                          f"{self.source}: {message}")

    def has(self, prefix: str) -> bool:
        """Whether a problem was found at ``prefix`` or a key below it."""
        return any(k == prefix or k.startswith((f"{prefix}.", f"{prefix}["))
                   for k in self.keys)

    def raise_if_any(self) -> None:
        if self.items:
            raise ConfigFileError(self.source, self.items)
