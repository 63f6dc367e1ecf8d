"""Reading and writing ``.npz`` archives of plain numeric arrays, never pickles.

An ``.npz`` file is a zip archive with one ``.npy`` member per array. `write_npz` writes
exactly what ``numpy.savez`` writes (uncompressed, pickling disabled, fixed timestamps so
the same arrays give the same bytes).

Reading trusts nothing in the file. `NpzArchive` opens only a regular file, reads the zip
directory and every member's ``.npy`` header without reading any data (`NpzArchive.headers`:
shape and dtype per key, so a caller can check what a file declares before anything large
is allocated), and refuses object, structured and text dtypes, members whose size in the zip
directory is not what their header declares, and archives whose members declare more data
than the file can hold. `NpzArchive.read` then streams one member in bounded chunks straight
into a preallocated array, never inflating more than its header promises, and reads it to
the end so that zip checks its CRC. `read_npz` reads every array. Nothing read can import a
module or run code.
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
from types import TracebackType
from typing import BinaryIO

import attrs
import numpy as np
from numpy.lib import format as npy_format

from nnframe.errors import DataError, ModelFileError, NNFrameError
from nnframe.modelfile.regular_files import open_regular

MEMBER_SUFFIX = ".npy"
#: Kinds of dtype a model file may hold: bool, signed and unsigned integers, floats.
NUMERIC_KINDS = "biuf"
MAX_MEMBERS = 100_000
MAX_NPY_HEADER = 10_000
#: Compression methods a model file may use: what numpy.savez and savez_compressed write.
COMPRESSIONS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflated"}
#: Compressed members may inflate to this many times their size in the file ...
MAX_INFLATION_RATIO = 100
#: ... and to this many bytes in all whatever the ratio (zeros compress ~1000 to 1).
ALWAYS_INFLATABLE = 64 * 2**20
#: Bytes streamed from a member per read: bounds the memory used besides the arrays.
CHUNK = 1 << 20
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_MAGIC_LEN = len(npy_format.MAGIC_PREFIX) + 2
_LENGTH_FORMATS = {(1, 0): "<H", (2, 0): "<I"}

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


@attrs.frozen
class NpyHeader:
    """What one member's ``.npy`` header declares, checked: an array of plain numbers."""

    shape: tuple[int, ...]
    dtype: np.dtype
    fortran_order: bool
    #: bytes of the header itself (magic, length and dictionary), before the data
    header_size: int

    @property
    def nbytes(self) -> int:
        """Bytes of data the header promises."""
        return math.prod(self.shape) * self.dtype.itemsize


def read_npz(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Every array of the archive at ``path``, keyed by member name without ``.npy``.

    Raises `ModelFileError`, naming the file, for anything that is not a well-formed ``.npz``
    of numeric arrays: not a regular file, truncation, corruption, pickled objects, duplicate
    or odd members, members larger or smaller than their headers say. The arrays are
    read-only.
    """
    with NpzArchive(path) as archive:
        return {key: archive.read(key) for key in archive.headers()}


def read_npy(file: BinaryIO, name: str, error: type[NNFrameError] = DataError
             ) -> np.ndarray:
    """The one array of an open ``.npy`` file, checked before anything is allocated: its
    header must declare numbers and no more data than the file holds (a header declaring
    a petabyte over 16 bytes of data is an ``error``, not a `MemoryError`). ``name`` starts
    every message; a file that is no ``.npy`` at all (text, an ``.npz``) is said to be so."""
    start = file.read(_MAGIC_LEN)
    if not start.startswith(npy_format.MAGIC_PREFIX):
        if start.startswith(b"PK"):
            raise error(f"{name}: holds several arrays (an .npz archive); give one .npy array")
        raise error(f"{name}: not a .npy array file (it starts with {start!r}, not the .npy "
                    "magic); save the array with numpy.save")
    try:
        file.seek(0)
        version = npy_format.read_magic(file)
        if version not in _LENGTH_FORMATS:
            raise ValueError(f"unsupported .npy format version {version}")
        reader = (npy_format.read_array_header_1_0 if version == (1, 0)
                  else npy_format.read_array_header_2_0)
        shape, _, dtype = reader(file, max_header_size=MAX_NPY_HEADER)
    except (ValueError, EOFError, OSError, struct.error) as exc:
        raise error(f"{name}: not a .npy array file ({exc}); save the array with "
                    "numpy.save") from None
    if dtype.hasobject or dtype.kind not in NUMERIC_KINDS:
        raise error(f"{name}: holds {dtype} values, not numbers")
    declared = math.prod(shape) * dtype.itemsize
    held = os.fstat(file.fileno()).st_size - file.tell()
    if declared > held:
        raise error(f"{name}: its header declares an array of shape {shape} ({dtype}, "
                    f"{declared:,} bytes), but the file holds {held:,} bytes of data: it is "
                    "truncated or damaged; save it again with numpy.save")
    file.seek(0)
    try:
        return np.load(file, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise error(f"{name}: not a .npy array file ({exc}); save the array with "
                    "numpy.save") from None
    except MemoryError:
        raise error(f"{name}: an array of {declared:,} bytes does not fit in memory; give "
                    "fewer samples at a time") from None


def read_npz_headers(path: str | os.PathLike[str]) -> dict[str, NpyHeader]:
    """Every member's checked `NpyHeader` (shape, dtype), without reading any array data."""
    with NpzArchive(path) as archive:
        return archive.headers()


class NpzArchive:
    """An ``.npz`` file opened for checked, bounded reading.

    Opening it reads the zip directory and every member's header, and checks them all
    against each other and against the file's size; `headers` gives what each member
    declares, and `read` reads one array. Use it as a context manager::

        with NpzArchive("model.npz") as archive:
            shapes = {key: header.shape for key, header in archive.headers().items()}
            weights = archive.read("params/0.weights")

    Every problem is a `ModelFileError` that starts with the path.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = path
        self._file = open_regular(path, "model file", ModelFileError)
        try:
            self._zip = self._guard(self._open_zip)
            try:
                self._infos: dict[str, zipfile.ZipInfo] = {}
                self._headers: dict[str, NpyHeader] = {}
                self._guard(self._read_directory)
            except BaseException:
                self._zip.close()
                raise
        except BaseException:
            self._file.close()
            raise

    def headers(self) -> dict[str, NpyHeader]:
        """Key -> what the member's header declares, in archive order (no data read)."""
        return dict(self._headers)

    def read(self, key: str) -> np.ndarray:
        """The array stored under ``key``, read-only, checked against its header and CRC."""
        if key not in self._headers:
            raise ModelFileError(f"{self.path}: holds no array {key!r}")
        return self._guard(lambda: self._read_array(key))

    def close(self) -> None:
        try:
            self._zip.close()
        finally:
            self._file.close()

    def __enter__(self) -> NpzArchive:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    # -- reading -------------------------------------------------------------------------

    def _guard(self, action):
        """Run ``action``; any error becomes a `ModelFileError` naming the file."""
        try:
            return action()
        except ModelFileError as exc:
            raise ModelFileError(f"{self.path}: {exc}") from exc.__cause__
        except _CORRUPT as exc:
            raise ModelFileError(f"{self.path}: is damaged ({_describe(exc)}); it may be "
                                 "truncated or corrupted") from exc

    def _open_zip(self) -> zipfile.ZipFile:
        try:
            return zipfile.ZipFile(self._file)
        except _CORRUPT as exc:
            raise ModelFileError(f"is not an .npz archive ({_describe(exc)}); it is "
                                 "truncated, damaged or not a model file") from exc

    def _read_directory(self) -> None:
        members = self._zip.infolist()
        if len(members) > MAX_MEMBERS:
            raise ModelFileError(f"has {len(members)} members, more than any model file")
        for info in members:
            key = _member_key(info.filename)
            if key in self._infos:
                raise ModelFileError(f"holds array {key!r} twice")
            if info.compress_type not in COMPRESSIONS:
                raise ModelFileError(
                    f"array {key!r} uses zip compression method {info.compress_type}; model "
                    "files are stored or deflated (what numpy.savez and savez_compressed "
                    "write)")
            self._infos[key] = info
        self._check_layout()
        for key, info in self._infos.items():
            header = self._read_header(key, info)
            if info.file_size != header.header_size + header.nbytes:
                raise ModelFileError(
                    f"array {key!r} should be {header.header_size + header.nbytes} bytes "
                    f"(its header and {header.nbytes} bytes of data for shape {header.shape} "
                    f"and dtype {header.dtype}), but the zip directory says {info.file_size}")
            self._headers[key] = header
        self._check_inflation()

    def _check_layout(self) -> None:
        """Members cannot take more room than the file has: refuse overlapping members."""
        file_size = os.fstat(self._file.fileno()).st_size
        stored = sum(info.compress_size for info in self._infos.values())
        if stored > file_size:
            raise ModelFileError(f"its members take {stored} bytes in a file of {file_size}; "
                                 "they overlap, so the archive is damaged or hostile")
        for info in self._infos.values():
            if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
                raise ModelFileError(f"array {_member_key(info.filename)!r} is stored "
                                     f"uncompressed in {info.compress_size} bytes, but the "
                                     f"zip directory says it is {info.file_size}")

    def _check_inflation(self) -> None:
        """Compressed members may not inflate beyond any legitimate model: zip bombs."""
        packed = {key: info for key, info in self._infos.items()
                  if info.compress_type != zipfile.ZIP_STORED}
        inflated = sum(info.file_size for info in packed.values())
        compressed = sum(info.compress_size for info in packed.values())
        if inflated > max(ALWAYS_INFLATABLE, MAX_INFLATION_RATIO * compressed):
            largest = max(packed, key=lambda key: packed[key].file_size)
            raise ModelFileError(
                f"its compressed arrays (the largest {largest!r}, {packed[largest].file_size} "
                f"bytes) would inflate from {compressed} to {inflated} bytes, more than "
                f"{MAX_INFLATION_RATIO} times; refused as a likely zip bomb (save the model "
                "uncompressed, as nnframe does)")

    def _read_header(self, key: str, info: zipfile.ZipInfo) -> NpyHeader:
        with self._zip.open(info) as member:
            prefix = _read_exactly(member, _MAGIC_LEN, key, "its .npy magic")
            version = npy_format.read_magic(io.BytesIO(prefix))
            if version not in _LENGTH_FORMATS:
                raise ModelFileError(f"array {key!r} uses .npy format version {version}, "
                                     "which model files do not use")
            length_format = _LENGTH_FORMATS[version]
            raw_length = _read_exactly(member, struct.calcsize(length_format), key,
                                       "its .npy header length")
            (length,) = struct.unpack(length_format, raw_length)
            if length > MAX_NPY_HEADER:
                raise ModelFileError(f"array {key!r} has a .npy header of {length} bytes, "
                                     f"more than the {MAX_NPY_HEADER} model files allow")
            text = _read_exactly(member, length, key, "its .npy header")
        stream = io.BytesIO(prefix + raw_length + text)
        npy_format.read_magic(stream)
        reader = (npy_format.read_array_header_1_0 if version == (1, 0)
                  else npy_format.read_array_header_2_0)
        shape, fortran_order, dtype = reader(stream, max_header_size=MAX_NPY_HEADER)
        if any(not isinstance(n, int) or n < 0 for n in shape):
            raise ModelFileError(f"array {key!r} declares the invalid shape {shape}")
        check_numeric(key, dtype)
        return NpyHeader(tuple(shape), dtype, bool(fortran_order), len(stream.getvalue()))

    def _read_array(self, key: str) -> np.ndarray:
        header = self._headers[key]
        flat = np.empty(math.prod(header.shape), dtype=header.dtype)
        view = memoryview(flat.view(np.uint8))
        with self._zip.open(self._infos[key]) as member:
            _read_exactly(member, header.header_size, key, "its .npy header")
            filled = 0
            while filled < len(view):
                count = member.readinto(view[filled:filled + CHUNK])
                if not count:
                    raise ModelFileError(
                        f"array {key!r} should have {header.nbytes} bytes of data for shape "
                        f"{header.shape} and dtype {header.dtype}, but has {filled}")
                filled += count
            if member.read(1):  # also reads to the end, where zipfile checks the CRC
                raise ModelFileError(
                    f"array {key!r} has more than the {header.nbytes} bytes of data its "
                    f"header declares for shape {header.shape} and dtype {header.dtype}")
        flat.flags.writeable = False
        return flat.reshape(header.shape, order="F" if header.fortran_order else "C")


def _read_exactly(member: BinaryIO, size: int, key: str, what: str) -> bytes:
    data = member.read(size)
    if len(data) != size:
        raise ModelFileError(f"array {key!r} is truncated within {what}")
    return data


def _member_key(name: str) -> str:
    if not name.endswith(MEMBER_SUFFIX) or len(name) == len(MEMBER_SUFFIX):
        raise ModelFileError(f"has a member {name!r} that is not an .npy array")
    return name[: -len(MEMBER_SUFFIX)]


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
