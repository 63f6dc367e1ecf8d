"""Hostile .npz archives: zip bombs, members that lie about their size, reading headers only.

Every file here is built by the test, member by member, so that each lie is exactly the one
named. Memory is measured with tracemalloc (NumPy reports its allocations to it): a refused
bomb must never cost more than a small fraction of what it would inflate to.
"""

from __future__ import annotations

import io
import struct
import tracemalloc
import zipfile
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pytest
from numpy.lib import format as npy_format

import nnframe
from nnframe import layer
from nnframe.errors import ModelFileError
from nnframe.modelfile.npz import NpyHeader, NpzArchive, read_npz, read_npz_headers

MB = 2**20
BOMB_BYTES = 200 * MB  # what the bombs inflate to; far more than any check may read
MEMORY_BUDGET = 16 * MB  # peak Python/NumPy memory allowed while refusing a bomb


def npy_header(shape: tuple[int, ...], descr: str = "<f4") -> bytes:
    buffer = io.BytesIO()
    npy_format.write_array_header_1_0(
        buffer, {"descr": descr, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


def zeros(total: int) -> Iterable[bytes]:
    chunk = bytes(MB)
    for start in range(0, total, MB):
        yield chunk[: min(MB, total - start)]


def write_archive(path: Path, members: dict[str, bytes | Iterable[bytes]],
                  compression: int = zipfile.ZIP_STORED) -> Path:
    """A zip of the given members, streamed so that huge members never sit in memory."""
    with zipfile.ZipFile(path, "w", compression=compression, compresslevel=1) as archive:
        for name, content in members.items():
            if isinstance(content, bytes):
                archive.writestr(name, content)
                continue
            info = zipfile.ZipInfo(name)
            info.compress_type = compression
            with archive.open(info, "w") as member:  # plain 32-bit sizes: under 4 GiB
                for chunk in content:
                    member.write(chunk)
    return path


def patch_directory(path: Path, name: str, **fields: int) -> None:
    """Overwrite ``crc``, ``compress_size`` or ``file_size`` of ``name`` in the zip's central
    directory (what zipfile trusts) and in its local header, as a forger would."""
    data = bytearray(path.read_bytes())
    encoded = name.encode()
    central = {"crc": 16, "compress_size": 20, "file_size": 24}
    local = {"crc": 14, "compress_size": 18, "file_size": 22}
    for signature, offsets in ((b"PK\x01\x02", central), (b"PK\x03\x04", local)):
        name_at = 46 if signature == b"PK\x01\x02" else 30
        start = data.find(signature)
        while start >= 0 and data[start + name_at: start + name_at + len(encoded)] != encoded:
            start = data.find(signature, start + 1)
        assert start >= 0, f"{name} not found"
        for field, value in fields.items():
            struct.pack_into("<I", data, start + offsets[field], value)
    path.write_bytes(bytes(data))


def measured(action: Callable[[], object]) -> tuple[Exception | None, int]:
    """The exception ``action`` raised (or None) and the peak bytes traced while it ran."""
    tracemalloc.start()
    try:
        action()
        error = None
    except Exception as exc:
        error = exc
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return error, peak


def refused_within_budget(path: Path) -> str:
    """The one-line `ModelFileError` of loading ``path``, checked to cost little memory."""
    error, peak = measured(lambda: nnframe.load(path))
    assert isinstance(error, ModelFileError), error
    assert peak < MEMORY_BUDGET, f"peak {peak / MB:.0f} MB while refusing: {error}"
    message = str(error)
    assert message.startswith(str(path)) and "\n" not in message
    return message


@pytest.fixture(scope="module")
def model_members(tmp_path_factory) -> dict[str, bytes]:
    """The members of a real model file: name -> bytes."""
    path = tmp_path_factory.mktemp("model") / "m.npz"
    net = nnframe.Network([layer("dense", 3, 2)]).build((3,), seed=0)
    net.save(path)
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


# -- zip bombs ---------------------------------------------------------------------------


def test_a_bomb_after_a_small_promise_is_refused_without_inflating(tmp_path, model_members):
    """The issue's bomb: a correct header for 10 floats, then 200 MB of zeros, deflated."""
    members = dict(model_members)
    members["params/0.bias.npy"] = [npy_header((10,)), *zeros(BOMB_BYTES)]
    path = write_archive(tmp_path / "bomb.npz", members, zipfile.ZIP_DEFLATED)
    assert path.stat().st_size < BOMB_BYTES / 100
    message = refused_within_budget(path)
    assert "'params/0.bias' should be 168 bytes" in message
    assert "the zip directory says 209715328" in message


def test_a_bomb_whose_directory_agrees_with_its_header_stops_at_the_promise(
        tmp_path, model_members):
    """Directory forged to promise 40 bytes of data (CRC too): nothing past them is read."""
    members = dict(model_members)
    header = npy_header((10,))
    members["params/0.bias.npy"] = [header, *zeros(BOMB_BYTES)]
    path = write_archive(tmp_path / "bomb.npz", members, zipfile.ZIP_DEFLATED)
    patch_directory(path, "params/0.bias.npy", file_size=len(header) + 40,
                    crc=zlib.crc32(header + bytes(40)))
    arrays: dict[str, np.ndarray] = {}
    error, peak = measured(lambda: arrays.update(read_npz(path)))
    assert error is None and peak < MEMORY_BUDGET
    assert arrays["params/0.bias"].shape == (10,) and not arrays["params/0.bias"].any()


def test_an_honest_huge_compressed_array_is_refused_before_allocating(tmp_path, model_members):
    """Header and directory agree on 200 MB of zeros in a 0.2 MB file: refused unread."""
    members = dict(model_members)
    count = BOMB_BYTES // 4
    members["params/0.bias.npy"] = [npy_header((count,)), *zeros(count * 4)]
    path = write_archive(tmp_path / "bomb.npz", members, zipfile.ZIP_DEFLATED)
    message = refused_within_budget(path)
    assert "zip bomb" in message and "uncompressed" in message


def test_a_compressed_model_of_zeros_still_loads(tmp_path):
    """Legitimate compressed files (numpy.savez_compressed) are far below the limits."""
    net = nnframe.Network([layer("dense", 300, 300)]).build((300,), seed=0)
    for parameter in net.parameters():
        parameter.value[...] = 0
    path = net.save(tmp_path / "m.npz")
    with np.load(path, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    with open(path, "wb") as file:
        np.savez_compressed(file, **arrays)
    assert not nnframe.load(path).layers[0].params["weights"].any()


# -- members that lie about their size ------------------------------------------------------


def test_a_truncated_member_is_refused(tmp_path, model_members):
    members = dict(model_members)
    members["params/0.bias.npy"] = npy_header((2,)) + np.zeros(1, "<f4").tobytes()
    message = refused_within_budget(write_archive(tmp_path / "m.npz", members))
    assert "'params/0.bias' should be" in message and "8 bytes of data" in message


def test_a_member_longer_than_its_header_is_refused(tmp_path, model_members):
    members = dict(model_members)
    members["params/0.bias.npy"] = npy_header((2,)) + np.zeros(1000, "<f4").tobytes()
    message = refused_within_budget(write_archive(tmp_path / "m.npz", members))
    assert "'params/0.bias'" in message and "the zip directory says" in message


def test_a_directory_that_shortens_a_member_is_refused(tmp_path, model_members):
    """Directory and header agree on 2 floats, the member really holds 1000: the CRC of the
    first 2 floats cannot match, so reading to the promised end refuses the file."""
    members = dict(model_members)
    header = npy_header((2,))
    members["params/0.bias.npy"] = header + np.ones(1000, "<f4").tobytes()
    path = write_archive(tmp_path / "m.npz", members, zipfile.ZIP_DEFLATED)
    patch_directory(path, "params/0.bias.npy", file_size=len(header) + 8)
    message = refused_within_budget(path)
    assert "damaged" in message and "CRC" in message


def test_a_stored_member_larger_than_the_file_is_refused(tmp_path, model_members):
    members = dict(model_members)
    header = npy_header((2,))
    members["params/0.bias.npy"] = header + np.zeros(2, "<f4").tobytes()
    path = write_archive(tmp_path / "m.npz", members)
    patch_directory(path, "params/0.bias.npy", file_size=2**31, compress_size=2**31)
    assert "overlap" in refused_within_budget(path)


def test_other_compression_methods_are_refused(tmp_path, model_members):
    """bzip2 and lzma members inflate without a bound per read: model files never use them."""
    path = write_archive(tmp_path / "m.npz", dict(model_members), zipfile.ZIP_BZIP2)
    message = refused_within_budget(path)
    assert "compression method 12" in message and "stored or deflated" in message


# -- headers without data ------------------------------------------------------------------


def test_headers_are_read_without_the_data(tmp_path):
    net = nnframe.Network([layer("dense", 100, 50)]).build((100,), seed=0)
    path = net.save(tmp_path / "m.npz")
    data = bytearray(path.read_bytes())
    weights = net.layers[0].params["weights"].tobytes()
    offset = data.find(weights) + len(weights) - 1
    data[offset] ^= 0xFF  # damage the last byte of the weights' data, far from any header
    path.write_bytes(bytes(data))

    headers = read_npz_headers(path)  # the data is not read, so the damage goes unseen
    assert headers["params/0.weights"] == NpyHeader((100, 50), np.dtype("<f4"), False, 128)
    assert headers["params/0.weights"].nbytes == 20_000
    assert set(headers) == {"header", "params/0.weights", "params/0.bias"}
    with NpzArchive(path) as archive:
        assert archive.read("params/0.bias").shape == (50,)
        with pytest.raises(ModelFileError, match="Bad CRC-32"):
            archive.read("params/0.weights")  # read to its end: zip checks the CRC
        with pytest.raises(ModelFileError, match="holds no array 'nope'"):
            archive.read("nope")


def test_arrays_are_read_only_and_keep_their_order(tmp_path):
    net = nnframe.Network([layer("dense", 3, 2)]).build((3,), seed=0)
    path = net.save(tmp_path / "m.npz")
    arrays = read_npz(path)
    weights = arrays["params/0.weights"]
    assert np.array_equal(weights, net.layers[0].params["weights"])
    assert not weights.flags.writeable
    fortran = tmp_path / "f.npz"
    np.savez(fortran, a=np.asfortranarray(np.arange(6.0).reshape(2, 3)))
    assert np.array_equal(read_npz(fortran)["a"], np.arange(6.0).reshape(2, 3))
