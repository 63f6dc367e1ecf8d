"""Downloads from hostile or broken mirrors: bounded in size, time and decompressed size.

A local HTTP server plays the mirrors: one streams zeros without end, one trickles a byte
at a time, one announces a terabyte, one serves a gzip bomb. Limits and deadlines are made
small so that every test takes about a second.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import http.server
import shutil
import threading
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from nnframe.datasets import download, mnist
from nnframe.datasets.idx import read_bytes
from nnframe.datasets.mnist import MIRROR_ENV, SIZES, max_download_size
from nnframe.errors import DataError
from tests.conftest import mnist_dir

MB = 2**20
LABELS = "t10k-labels-idx1-ubyte"


@functools.cache
def gzip_bomb(size: int) -> bytes:
    return gzip.compress(bytes(size), compresslevel=9)


class HostileMirror(http.server.BaseHTTPRequestHandler):
    """/<behaviour>/<file>: zeros, trickle, huge, bomb, or good (the real MNIST file)."""

    protocol_version = "HTTP/1.0"  # the body ends when the connection closes
    sent: ClassVar[dict[str, int]] = {}  # behaviour -> bytes sent, to see what clients took

    def do_GET(self):
        behaviour, _, name = self.path.strip("/").partition("/")
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # client gave up
            getattr(self, f"serve_{behaviour}")(name)

    def body(self, behaviour: str, data: bytes) -> None:
        self.wfile.write(data)
        self.wfile.flush()
        self.sent[behaviour] = self.sent.get(behaviour, 0) + len(data)

    def serve_zeros(self, name: str) -> None:
        self.send_response(200)
        self.end_headers()
        while True:  # no Content-Length, no end
            self.body("zeros", bytes(64 * 1024))

    def serve_trickle(self, name: str) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.end_headers()
        for _ in range(1000):
            self.body("trickle", b"\x1f")
            time.sleep(0.05)

    def serve_huge(self, name: str) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(10**12))
        self.end_headers()
        self.body("huge", bytes(1024))

    def serve_bomb(self, name: str) -> None:
        data = gzip_bomb(MB)  # 1 MiB of zeros: ~1 KB, under every download cap
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.body("bomb", data)

    def serve_corrupt(self, name: str) -> None:
        data = gzip.compress(bytes(SIZES[LABELS]))  # the right size, the wrong content
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.body("corrupt", data)

    def serve_good(self, name: str) -> None:
        source = mnist_dir()
        data = (source / "mnist" / name).read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.body("good", data)

    def log_message(self, *args):  # keep the test output clean
        pass


@pytest.fixture
def mirror() -> Iterator[str]:
    HostileMirror.sent = {}
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), HostileMirror)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def fetch(urls: list[str], destination: Path, **limits) -> tuple[DataError, list[str]]:
    """The error of a fetch that must fail, and the lines it reported."""
    lines: list[str] = []
    with pytest.raises(DataError) as info:
        download.fetch("f.gz", urls, destination, lambda path: None, report=lines.append,
                       **limits)
    return info.value, lines


def test_a_mirror_streaming_zeros_is_cut_off_at_the_size_cap(tmp_path, mirror):
    error, _ = fetch([f"{mirror}/zeros/f.gz"], tmp_path / "f.gz", max_bytes=MB)
    assert "sent more than" in str(error) and f"{mirror}/zeros/f.gz" in str(error)
    assert HostileMirror.sent["zeros"] < 8 * MB  # stopped reading soon after the cap
    assert list(tmp_path.iterdir()) == []  # nothing left on disk


def test_a_mirror_announcing_too_much_is_refused_before_the_body(tmp_path, mirror):
    error, _ = fetch([f"{mirror}/huge/f.gz"], tmp_path / "f.gz", max_bytes=MB)
    assert "announced 1,000,000,000,000 bytes; the file is at most 1,048,576" in str(error)


def test_a_trickling_mirror_meets_the_deadline(tmp_path, mirror):
    start = time.monotonic()
    error, _ = fetch([f"{mirror}/trickle/f.gz"], tmp_path / "f.gz", deadline=0.5,
                     timeout=0.3)
    assert time.monotonic() - start < 5  # a byte every 0.05 s would take 50 s in all
    assert "took longer than 0.5 s" in str(error) and download.DEADLINE_ENV in str(error)
    assert list(tmp_path.iterdir()) == []


def test_the_deadline_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv(download.DEADLINE_ENV, raising=False)
    assert download.default_deadline() == download.DEADLINE_S
    monkeypatch.setenv(download.DEADLINE_ENV, "2.5")
    assert download.default_deadline() == 2.5
    for bad in ("soon", "0", "-1", "inf", "nan"):
        monkeypatch.setenv(download.DEADLINE_ENV, bad)
        with pytest.raises(DataError, match=download.DEADLINE_ENV):
            download.default_deadline()


def test_each_failure_is_one_line_naming_the_mirror_and_the_next_is_tried(tmp_path, mirror):
    urls = [f"{mirror}/zeros/f.gz", f"{mirror}/trickle/f.gz", f"{mirror}/huge/f.gz"]
    error, lines = fetch(urls, tmp_path / "f.gz", max_bytes=MB, deadline=0.5, timeout=0.3)
    warnings = [line for line in lines if line.startswith("warning: ")]
    assert len(warnings) == 2 and all("\n" not in line for line in lines)
    assert warnings[0].startswith(f"warning: {urls[0]} failed (sent more than")
    assert warnings[1].startswith(f"warning: {urls[1]} failed (took longer than")
    assert all(url in str(error) for url in urls) and "\n" not in str(error)


# -- gzip bombs ------------------------------------------------------------------------------


def test_decompression_stops_at_the_limit_with_memory_flat(tmp_path):
    bomb = tmp_path / "bomb.gz"
    bomb.write_bytes(gzip_bomb(200 * MB))
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match="holds more than 10,008 bytes once decompressed"):
            read_bytes(bomb, SIZES[LABELS])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * MB  # the whole bomb would be 200 MB


def test_a_gzip_bomb_from_a_mirror_is_refused_and_the_next_mirror_used(
        tmp_path, monkeypatch, mirror, capsys):
    if mnist_dir() is None:
        pytest.skip("real MNIST not found: set NNFRAME_DATA_DIR to a directory holding mnist/")
    folder = tmp_path / "mnist"
    folder.mkdir()
    shutil.copy(mnist_dir() / "mnist" / "t10k-images-idx3-ubyte.gz", folder)
    monkeypatch.setenv(MIRROR_ENV, f"{mirror}/bomb/,{mirror}/good/")
    _, labels = mnist("test", data_dir=tmp_path)
    assert labels.shape == (10_000,)
    err = capsys.readouterr().err
    assert f"{mirror}/bomb/{LABELS}.gz failed (it served something other than" in err
    assert "more than its 10,008 bytes once decompressed" in err
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["t10k-images-idx3-ubyte.gz", f"{LABELS}.gz"])


def test_a_corrupt_download_is_not_blamed_on_a_temporary_file(tmp_path, monkeypatch, mirror,
                                                              capsys):
    """The SHA-256 failure of a download names the mirror; it never tells the user to delete
    the hidden temporary file, which nnframe has already removed."""
    monkeypatch.setenv(MIRROR_ENV, f"{mirror}/corrupt/")
    with pytest.raises(DataError) as info:
        mnist("test", data_dir=tmp_path)
    message = str(info.value)
    assert f"{mirror}/corrupt/t10k-images-idx3-ubyte.gz: it served something other than" \
        in message or "it served something other than the MNIST file" in message
    assert "SHA-256" in message or "decompressed" in message
    assert ".tmp" not in message and "delete it" not in message
    assert list((tmp_path / "mnist").iterdir()) == []


def test_download_caps_fit_any_gzip_of_the_real_files():
    for stem, size in SIZES.items():
        worst = len(gzip.compress(bytes(size), compresslevel=0))  # stored blocks: no gain
        assert worst <= max_download_size(stem) < size * 1.01 + 8192
