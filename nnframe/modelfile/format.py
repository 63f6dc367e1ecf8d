"""The nnframe model file format: one ``.npz`` readable with NumPy alone, never pickled.

The archive holds a JSON ``header`` (a uint8 array of UTF-8 bytes) describing the network,
the weights as ``params/<key>``, the layers' state as ``state/<key>`` and optionally the
optimizer's state as ``optimizer/<state key>``. Components are written as registered names
with their configs and the distribution and version that provided them; a composite
layer's entry holds its inner layers' entries under ``layers`` (or ``branches``). Saving
is `nnframe.modelfile.save`, loading `nnframe.modelfile.load`; docs/model-files.md
describes the format.

Format versions: 1 (no layer state, no metrics, no position inside an epoch) is still read;
2 is written.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from nnframe._version import __version__
from nnframe.errors import ModelFileError

FORMAT_NAME = "nnframe-model"
FORMAT_VERSION = 2
HEADER_KEY = "header"
PARAMS_PREFIX = "params/"
STATE_PREFIX = "state/"
OPTIMIZER_PREFIX = "optimizer/"
MAX_HEADER_BYTES = 16 * 2**20
#: How deep composite layers may nest in a file (a guard against hostile headers).
MAX_DEPTH = 32


def header_bytes(header: dict[str, Any]) -> np.ndarray:
    """The header as the uint8 array stored in the archive."""
    text = json.dumps(header, indent=1, sort_keys=False)
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8)


def read_header(path: str | os.PathLike[str], raw: np.ndarray | None) -> dict[str, Any]:
    """The parsed JSON header of a model file, checked for format name and version."""
    if raw is None:
        raise ModelFileError(f"{path}: not an nnframe model file (an .npz without the "
                             f"{HEADER_KEY!r} array)")
    if raw.dtype != np.uint8 or raw.ndim != 1 or raw.size > MAX_HEADER_BYTES:
        raise ModelFileError(f"{path}: not an nnframe model file (its {HEADER_KEY!r} array "
                             "is not UTF-8 JSON bytes)")
    try:
        header = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ModelFileError(f"{path}: the header is not valid JSON ({exc})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        raise ModelFileError(f"{path}: not an nnframe model file (its header does not say "
                             f"format {FORMAT_NAME!r})")
    version = header.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ModelFileError(f"{path}: unknown model file format version {version!r}")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: written in model file format version {version} by nnframe "
            f"{header.get('nnframe_version')}; this nnframe ({__version__}) reads format "
            f"version {FORMAT_VERSION} and older: upgrade nnframe to load it"
        )
    return header
