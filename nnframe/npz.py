"""Reading and writing ``.npz`` archives of plain numeric arrays, never pickles.

An ``.npz`` file is a zip archive with one ``.npy`` member per array. `write_npz` writes
exactly what ``numpy.savez`` writes (uncompressed, pickling disabled, fixed timestamps so
the same arrays give the same bytes). `read_npz` trusts nothing in the file: it checks
every member's CRC by reading it whole, parses each ``.npy`` header itself, refuses object,
structured and text dtypes before any array is made, and checks that the data has exactly
the size the header declares. Nothing it reads can import a module or run code.
"""

from __future__ import annotations

import io
import lzma
import math
import os
import struct
import zipfile
import zlib
from collections.abc import Mapping
from typing import BinaryIO

import numpy as np
from numpy.lib import format as npy_format

from nnframe.errors import ModelFileError

MEMBER_SUFFIX = ".npy"
#: Kinds of dtype a model file may hold: bool, signed and unsigned integers, floats.
NUMERIC_KINDS = "biuf"
MAX_MEMBERS = 100_000
MAX_NPY_HEADER = 10_000
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)

# What zipfile, zlib, lzma and numpy's header parser raise on damaged or hostile bytes.
_CORRUPT = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    EOFError,
    OSError,
    ValueError,  # includes UnicodeDecodeError and numpy's "cannot parse header"
    KeyError,
    IndexError,
    struct.error,
    zlib.error,
    lzma.LZMAError,
    NotImplementedError,  # an unsupported compression method
    RuntimeError,  # an encrypted member
    OverflowError,
    MemoryError,
)


def check_numeric(key: str, dtype: np.dtype) -> None:
    """Refuse any dtype that is not plain numbers (objects would need pickle)."""
    if dtype.hasobject:
        raise ModelFileError(f"array {key!r} holds Python objects; those need pickle, which "
                       "nnframe model files never use")
    if dtype.kind not in NUMERIC_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise ModelFileError(f"array {key!r} has dtype {dtype}; model files hold only numbers "
                       "(bool, integer or float arrays)")


def write_npz(file: BinaryIO, arrays: Mapping[str, np.ndarray]) -> None:
    """Write ``arrays`` to ``file`` as an uncompressed ``.npz`` (what ``numpy.savez`` makes)."""
    for key, array in arrays.items():
        check_numeric(key, np.asanyarray(array).dtype)
    with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for key, array in arrays.items():
            info = zipfile.ZipInfo(key + MEMBER_SUFFIX, date_time=_FIXED_TIME)
            info.compress_type = zipfile.ZIP_STORED
            with archive.open(info, "w", force_zip64=True) as member:
                npy_format.write_array(member, np.asanyarray(array), allow_pickle=False)


def read_npz(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Every array of the archive at ``path``, keyed by member name without ``.npy``.

    Raises `ModelFileError`, naming the file, for anything that is not a well-formed ``.npz``
    of numeric arrays: truncation, corruption, pickled objects, duplicate or odd members.
    The arrays are read-only views of the bytes read from the file.
    """
    try:
        return _read_members(path)
    except ModelFileError as exc:
        raise ModelFileError(f"{path}: {exc}") from exc.__cause__


def _read_members(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    try:
        archive = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise ModelFileError("no such file") from None
    except IsADirectoryError:
        raise ModelFileError("is a directory, not a model file") from None
    except PermissionError as exc:
        raise ModelFileError(f"cannot be read: {exc.strerror}") from None
    except _CORRUPT as exc:
        raise ModelFileError(f"is not an .npz archive ({_describe(exc)}); it is truncated, "
                             "damaged or not a model file") from exc
    with archive:
        try:
            members = archive.infolist()
            if len(members) > MAX_MEMBERS:
                raise ModelFileError(f"has {len(members)} members, more than any model file")
            arrays: dict[str, np.ndarray] = {}
            for info in members:
                key = _member_key(info.filename)
                if key in arrays:
                    raise ModelFileError(f"holds array {key!r} twice")
                arrays[key] = parse_npy(archive.read(info), key)
        except ModelFileError:
            raise
        except _CORRUPT as exc:
            raise ModelFileError(f"is damaged ({_describe(exc)}); it may be truncated or "
                                 "corrupted") from exc
    return arrays


def parse_npy(data: bytes, key: str) -> np.ndarray:
    """The array in the bytes of one ``.npy`` file, checked before it is made."""
    stream = io.BytesIO(data)
    version = npy_format.read_magic(stream)
    if version == (1, 0):
        header = npy_format.read_array_header_1_0(stream, max_header_size=MAX_NPY_HEADER)
    elif version == (2, 0):
        header = npy_format.read_array_header_2_0(stream, max_header_size=MAX_NPY_HEADER)
    else:
        raise ModelFileError(f"array {key!r} uses .npy format version {version}, which "
                       "model files do not use")
    shape, fortran_order, dtype = header
    if any(not isinstance(n, int) or n < 0 for n in shape):
        raise ModelFileError(f"array {key!r} declares the invalid shape {shape}")
    check_numeric(key, dtype)
    body = memoryview(data)[stream.tell():]
    expected = math.prod(shape) * dtype.itemsize
    if len(body) != expected:
        raise ModelFileError(f"array {key!r} should have {expected} bytes of data for shape "
                       f"{shape} and dtype {dtype}, but has {len(body)}")
    flat = np.frombuffer(body, dtype=dtype)
    return flat.reshape(shape, order="F" if fortran_order else "C")


def _member_key(name: str) -> str:
    if not name.endswith(MEMBER_SUFFIX) or len(name) == len(MEMBER_SUFFIX):
        raise ModelFileError(f"has a member {name!r} that is not an .npy array")
    return name[: -len(MEMBER_SUFFIX)]


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
