"""Where data sets live: an explicit directory, then ``NNFRAME_DATA_DIR``, then the cache."""

from __future__ import annotations

import os
from pathlib import Path

DATA_DIR_ENV = "NNFRAME_DATA_DIR"


def data_dir(explicit: str | os.PathLike | None = None) -> Path:
    """The data directory: argument, then ``$NNFRAME_DATA_DIR``, then the user cache."""
    if explicit is not None:
        return Path(explicit).expanduser()
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "nnframe"
