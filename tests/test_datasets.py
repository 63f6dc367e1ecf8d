"""Data sets: MNIST checksums, reading gzip or plain IDX, the shipped sample, and the
download path for real against local HTTP servers (a good, a corrupt and a down mirror)."""

from __future__ import annotations

import functools
import gzip
import http.server
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import nnframe
from nnframe.datasets import catalog, mnist, mnist_sample, read_mnist
from nnframe.datasets.mnist import FILES, MIRROR_ENV, MIRRORS, mirrors
from nnframe.datasets.sample import SAMPLE_SIZES, sample_path
from nnframe.errors import DataError
from tests.conftest import mnist_dir, requires_mnist

TEST_STEMS = FILES["test"]


def test_sample_has_the_promised_shapes_and_values():
    for split, size in SAMPLE_SIZES.items():
        x, y = mnist_sample(split)
        assert x.shape == (size, 28, 28, 1) and x.dtype == np.float32
        assert y.shape == (size,) and y.dtype == np.int64
        assert x.min() == 0.0 and x.max() == 1.0
        assert set(np.unique(y)) == set(range(10))


def test_sample_file_is_shipped_with_its_licence_notice():
    notice = (sample_path().parent / "README.md").read_text()
    assert "Yann LeCun" in notice and "Corinna Cortes" in notice and "Burges" in notice
    assert "CC BY-SA 3.0" in notice


@requires_mnist
def test_sample_is_the_first_images_of_mnist():
    for split, size in SAMPLE_SIZES.items():
        x, y = mnist_sample(split)
        images, labels = read_mnist(split, mnist_dir(), download=False)
        assert np.array_equal((x[..., 0] * 255).round().astype(np.uint8), images[:size])
        assert np.array_equal(y, labels[:size])


def test_unknown_splits_and_datasets_are_clear_errors():
    with pytest.raises(DataError, match="'train' or 'test'"):
        mnist_sample("validation")
    with pytest.raises(DataError, match="'train' or 'test'"):
        mnist("valid", data_dir="/nonexistent")
    with pytest.raises(DataError, match="Did you mean 'mnist_sample'"):
        catalog.dataset("mnist_sampel")


def test_catalog_knows_shapes_without_loading():
    for component in nnframe.get_registry().components("dataset"):
        if component.name not in ("xor", "mnist", "mnist_sample"):
            continue  # the readers of files need arguments (tests/test_readers.py)
        info = nnframe.dataset(component.name)
        x, _ = info.load("test") if info.name != "mnist" else mnist_sample("test")
        assert tuple(x.shape[1:]) == info.sample_shape
    assert catalog.for_input_shape((2,)).name == "xor"
    with pytest.raises(DataError, match="--dataset"):
        catalog.for_input_shape((3, 3))


def test_missing_files_without_download_say_where_they_were_looked_for(tmp_path):
    with pytest.raises(DataError, match=str(tmp_path / "mnist")):
        mnist("test", data_dir=tmp_path, download=False)


def test_data_dir_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("NNFRAME_DATA_DIR", str(tmp_path))
    with pytest.raises(DataError, match=str(tmp_path / "mnist")):
        mnist("test", download=False)


def test_mirror_list_can_be_overridden(monkeypatch):
    monkeypatch.delenv(MIRROR_ENV, raising=False)
    assert mirrors() == list(MIRRORS)
    monkeypatch.setenv(MIRROR_ENV, "http://a.example/mnist/")
    assert mirrors() == ["http://a.example/mnist/"]
    monkeypatch.setenv(MIRROR_ENV, "http://a.example/, http://b.example/")
    assert mirrors() == ["http://a.example/", "http://b.example/"]


# -- real files ----------------------------------------------------------------------------


def copy_test_split(source: Path, target: Path, *, gunzip: bool = False) -> Path:
    folder = target / "mnist"
    folder.mkdir(parents=True)
    for stem in TEST_STEMS:
        if gunzip:
            (folder / stem).write_bytes(gzip.decompress((source / f"{stem}.gz").read_bytes()))
        else:
            shutil.copy(source / f"{stem}.gz", folder)
    return folder


@requires_mnist
def test_reads_gzip_and_plain_idx_the_same(tmp_path):
    source = mnist_dir() / "mnist"
    copy_test_split(source, tmp_path / "gz")
    copy_test_split(source, tmp_path / "plain", gunzip=True)
    x_gz, y_gz = mnist("test", data_dir=tmp_path / "gz", download=False)
    x_plain, y_plain = mnist("test", data_dir=tmp_path / "plain", download=False)
    assert x_gz.shape == (10_000, 28, 28, 1) and x_gz.dtype == np.float32
    assert np.array_equal(x_gz, x_plain) and np.array_equal(y_gz, y_plain)


@requires_mnist
def test_a_corrupt_file_is_never_trusted(tmp_path):
    folder = copy_test_split(mnist_dir() / "mnist", tmp_path, gunzip=True)
    labels = folder / "t10k-labels-idx1-ubyte"
    data = bytearray(labels.read_bytes())
    data[-1] = (data[-1] + 1) % 10  # one label changed: still a valid IDX file
    labels.write_bytes(bytes(data))
    with pytest.raises(DataError, match="SHA-256") as info:
        mnist("test", data_dir=tmp_path)  # download allowed: a present file is not replaced
    assert str(labels) in str(info.value) and "delete it" in str(info.value)
    assert labels.read_bytes() == bytes(data)


# -- downloads from local servers ----------------------------------------------------------


class MirrorHandler(http.server.SimpleHTTPRequestHandler):
    """Serves /good/<file> from the MNIST folder and /corrupt/<file> as damaged copies."""

    def __init__(self, *args, mnist_folder: Path, **kwargs):
        self.mnist_folder = mnist_folder
        super().__init__(*args, directory=str(mnist_folder), **kwargs)

    def do_GET(self):
        kind, _, name = self.path.strip("/").partition("/")
        source = self.mnist_folder / name
        if kind not in ("good", "corrupt") or "/" in name or not source.is_file():
            self.send_error(404)
            return
        body = source.read_bytes()
        if kind == "corrupt":  # a well-formed gzip whose content is not the real file
            content = bytearray(gzip.decompress(body))
            content[-1] ^= 0xFF
            body = gzip.compress(bytes(content), compresslevel=1)
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # keep the test output clean
        pass


@pytest.fixture
def mirror() -> Iterator[str]:
    """Base URL of a local HTTP server on 127.0.0.1 serving the real MNIST files."""
    source = mnist_dir()
    if source is None:
        pytest.skip("real MNIST not found: set NNFRAME_DATA_DIR to a directory holding mnist/")
    handler = functools.partial(MirrorHandler, mnist_folder=source / "mnist")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def down_mirror() -> str:
    """A base URL where nothing listens (the port was free a moment ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/mnist/"


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_download_skips_a_down_and_a_corrupt_mirror(tmp_path, monkeypatch, mirror, down_mirror,
                                                    capsys):
    monkeypatch.setenv(MIRROR_ENV, f"{down_mirror},{mirror}/corrupt/,{mirror}/good/")
    x, y = mnist("test", data_dir=tmp_path)
    assert x.shape == (10_000, 28, 28, 1) and y.shape == (10_000,)
    folder = tmp_path / "mnist"
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{s}.gz" for s in TEST_STEMS)
    err = capsys.readouterr().err
    assert down_mirror in err and f"{mirror}/corrupt/" in err and "SHA-256" in err
    # once in place, the files are read without any mirror
    monkeypatch.setenv(MIRROR_ENV, down_mirror)
    x2, _ = mnist("test", data_dir=tmp_path)
    assert np.array_equal(x, x2)


def test_download_fails_cleanly_when_no_mirror_serves_a_good_file(tmp_path, monkeypatch,
                                                                   mirror, down_mirror):
    monkeypatch.setenv(MIRROR_ENV, f"{down_mirror} {mirror}/corrupt/ {mirror}/missing/")
    with pytest.raises(DataError) as info:
        mnist("test", data_dir=tmp_path)
    message = str(info.value)
    assert "could not download t10k-images-idx3-ubyte.gz" in message
    assert down_mirror in message and "SHA-256" in message and "HTTP 404" in message
    assert str(tmp_path / "mnist") in message
    assert list((tmp_path / "mnist").iterdir()) == []  # no partial or corrupt file left


def test_download_only_fetches_what_is_missing(tmp_path, monkeypatch, mirror):
    folder = copy_test_split(mnist_dir() / "mnist", tmp_path)
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    monkeypatch.setenv(MIRROR_ENV, f"{mirror}/good/")
    _, y = mnist("test", data_dir=tmp_path)
    assert y.shape == (10_000,) and leftovers(folder) == []
    assert (folder / "t10k-labels-idx1-ubyte.gz").is_file()
