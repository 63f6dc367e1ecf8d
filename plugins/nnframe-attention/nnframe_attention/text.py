"""``python_chars``: a character-level language-modelling data set that every Python has,
the standard library's own ``.py`` sources.

The top-level modules of the standard library (``sysconfig.get_paths()["stdlib"]``), read
in sorted order as one text, are cut into windows of `CONTEXT` characters; each target is
its window shifted by one character (the next character at every position). Characters
are their code points below 128; any other becomes ``?``, so the vocabulary is the 128
ASCII codes and `decode` turns indices back into text. The first `TRAIN` windows are the
training split, the `TEST` windows of text after them the test split (held-out text).
The text differs a little between Python versions; on one version it is always the same.
"""

from __future__ import annotations

import os
import sysconfig
from pathlib import Path

import numpy as np

import nnframe

CONTEXT = 64
VOCABULARY = 128
TRAIN = 8_192
TEST = 512


def source_text(characters: int) -> str:
    """The first ``characters`` characters of the standard library's top-level modules."""
    folder = Path(sysconfig.get_paths()["stdlib"])
    parts, total = [], 0
    for path in sorted(folder.glob("*.py")):
        text = path.read_text(encoding="utf-8", errors="replace")
        parts.append(text)
        total += len(text)
        if total >= characters:
            break
    text = "".join(parts)[:characters]
    if len(text) < characters:
        raise nnframe.DataError(f"python_chars: the standard library in {folder} holds "
                                f"{len(text):,} characters of .py sources, fewer than the "
                                f"{characters:,} the data set needs")
    return text


def encode(text: str) -> np.ndarray:
    """Code points below 128 as they are, any other as ``?`` (int64)."""
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    codes[codes >= VOCABULARY] = ord("?")
    return codes


def decode(indices: np.ndarray) -> str:
    """Indices (any numeric dtype) back to text."""
    return "".join(map(chr, np.asarray(indices).astype(np.int64).ravel()))


def windows(codes: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """(x, y): ``count`` windows of CONTEXT characters, and each shifted by one."""
    starts = np.arange(count) * CONTEXT
    index = starts[:, None] + np.arange(CONTEXT)[None, :]
    return codes[index].astype(np.float32), codes[index + 1].astype(np.float32)


def _load(split: str, data_dir: str | os.PathLike | None, download: bool):
    codes = encode(source_text((TRAIN + TEST) * CONTEXT + 1))
    if split == "train":
        return windows(codes, TRAIN)
    x, y = windows(codes[TRAIN * CONTEXT:], TEST)
    return x, y


def python_chars_dataset() -> nnframe.Dataset:
    """Characters of the standard library's .py sources: 64-character windows, targets the
    next character at every position."""
    return nnframe.Dataset(
        "python_chars", f"{CONTEXT}-character windows of the standard library's .py "
        "sources (ASCII codes), targets the next character at each position",
        (CONTEXT,), {"train": TRAIN, "test": TEST}, None, (CONTEXT,), _load)
