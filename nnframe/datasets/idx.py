"""A reader for the IDX format of MNIST (gzip-compressed or not).

Files are read as streams and never decompressed past a limit: the size a caller knows
(`read_bytes`), or the size the IDX header declares (`read_idx`). A gzip bomb therefore
costs no more memory than the real file would, and only regular files are opened.
"""

from __future__ import annotations

import contextlib
import gzip
import math
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

from nnframe.errors import DataError
from nnframe.modelfile.regular_files import open_regular

# The third byte of the magic number names the element type.
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
GZIP_MAGIC = b"\x1f\x8b"
CHUNK = 1 << 20
#: The largest IDX file `read_idx` accepts when no limit is given (a header can promise any size).
MAX_IDX_BYTES = 4 * 2**30


def read_idx_bytes(data: bytes, source: str = "<bytes>") -> np.ndarray:
    """Parse the bytes of an IDX file into an array of its declared type and shape."""
    header, dtype, shape = _parse_header(data, source)
    expected = header + math.prod(shape) * dtype.itemsize
    if len(data) != expected:
        raise DataError(f"{source} has {len(data)} bytes, its header promises {expected}; "
                        "the file is truncated or corrupt")
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="))


def _parse_header(data: bytes, source: str) -> tuple[int, np.dtype, tuple[int, ...]]:
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES:
        raise DataError(f"{source} is not an IDX file (bad magic number)")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{source} is truncated (its header is incomplete)")
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    return header, np.dtype(_IDX_TYPES[data[2]]), shape


def read_bytes(path: str | Path, limit: int) -> bytes:
    """The decompressed bytes of a file, gzip or plain (chosen by content, not name).

    Raises `DataError` for a file that is not a regular file, is a damaged gzip, or holds
    more than ``limit`` bytes once decompressed; no more than ``limit`` + 1 bytes are ever
    decompressed.
    """
    with _content(path) as read:
        data = read(limit + 1)
    if len(data) > limit:
        raise DataError(f"{path} holds more than {limit:,} bytes once decompressed, more "
                        "than the file it should be; delete it and fetch it again")
    return data


def read_idx(path: str | Path, limit: int = MAX_IDX_BYTES) -> np.ndarray:
    """Read an IDX file (``.gz`` or not) into a NumPy array.

    Nothing past what the IDX header declares (at most ``limit`` bytes) is decompressed.
    """
    path = Path(path)
    with _content(path) as read:
        head = read(4)
        if len(head) == 4:
            head += read(4 * head[3])
        header, dtype, shape = _parse_header(head, str(path))
        expected = header + math.prod(shape) * dtype.itemsize
        if expected > limit:
            raise DataError(f"{path}: its IDX header declares {expected:,} bytes, more than "
                            f"the {limit:,} allowed")
        data = head + read(expected - len(head) + 1)  # one byte more shows a longer file
    return read_idx_bytes(data, str(path))


@contextlib.contextmanager
def _content(path: str | Path) -> Iterator[Callable[[int], bytes]]:
    """``read(n)``: the next n bytes of the file's content (fewer at its end), decompressed
    when it is gzip, read in chunks of at most `CHUNK` so that nothing runs past n."""
    with open_regular(path, "data file", DataError) as file:
        compressed = file.read(2) == GZIP_MAGIC
        file.seek(0)
        stream: BinaryIO = gzip.GzipFile(fileobj=file, mode="rb") if compressed else file

        def read(size: int) -> bytes:
            data = bytearray()
            while len(data) < size:
                try:
                    chunk = stream.read(min(CHUNK, size - len(data)))
                except (OSError, EOFError, zlib.error) as exc:
                    raise DataError(f"{path} is a damaged gzip file ({exc}); delete it and "
                                    "fetch it again") from None
                if not chunk:
                    break
                data += chunk
            return bytes(data)

        yield read
