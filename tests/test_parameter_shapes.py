"""``parameter_shapes``: every built-in layer with parameters says their shapes before it is
built, so that loading refuses a header that declares huge layers with no weights behind
them before it allocates anything (tracemalloc sees NumPy's allocations)."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import nnframe
from nnframe.errors import ModelFileError
from nnframe.modelfile.format import HEADER_KEY, header_bytes, read_header
from nnframe.modelfile.npz import read_npz, write_npz

MB = 2**20
MEMORY_BUDGET = 50 * MB


def hostile_file(path, layers, input_shape, dtype="float32"):
    """A model file whose header declares ``layers`` built for ``input_shape`` and that
    holds no arrays at all: the header of the unbuilt network, with an input shape."""
    source = nnframe.Network(layers, dtype=dtype).save(path.with_suffix(".unbuilt.npz"))
    arrays = read_npz(source)
    header = read_header(source, arrays.pop(HEADER_KEY))
    assert not arrays
    header["input_shape"] = list(input_shape)
    with open(path, "wb") as file:
        write_npz(file, {HEADER_KEY: header_bytes(header)})
    return path


def refused(path):
    """The message of loading ``path``, and the peak memory traced while refusing it."""
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError) as info:
            nnframe.load(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return str(info.value), peak


def test_the_issues_file_declaring_dense_30000x30000_is_refused_without_allocating(tmp_path):
    """Under 1 KB declaring 3.6 GB of float32 weights (13.8 GB were allocated before
    loading compared the declared shapes first)."""
    path = hostile_file(tmp_path / "dense.npz", [nnframe.layer("dense", 30000, 30000)],
                        (30000,))
    assert path.stat().st_size < 1024
    message, peak = refused(path)
    assert message == f"{path}: the weights 'params/0.weights' are missing"
    assert peak < MEMORY_BUDGET, f"peak {peak / MB:.0f} MB"


@pytest.mark.parametrize(("layers", "input_shape", "missing"), [
    ([nnframe.layer("batch_norm")], (10**9,), "params/0.gamma"),
    ([nnframe.layer("layer_norm")], (4, 10**9), "params/0.gamma"),
    ([nnframe.layer("embedding", 10**6, 10**4)], (3,), "params/0.weights"),
    ([nnframe.layer("embedding", 10, 4), nnframe.layer("flatten"),
      nnframe.layer("dense", output_size=10**8)], (3,), "params/0.weights"),
], ids=["batch_norm", "layer_norm", "embedding", "behind_a_flatten"])
def test_huge_declared_layers_without_weights_are_refused_cheaply(tmp_path, layers,
                                                                   input_shape, missing):
    path = hostile_file(tmp_path / "huge.npz", layers, input_shape)
    message, peak = refused(path)
    assert f"the weights {missing!r} are missing" in message
    assert peak < MEMORY_BUDGET, f"peak {peak / MB:.0f} MB"


def test_a_stored_array_of_the_wrong_shape_is_refused_before_building(tmp_path):
    """Every weight present but the last layer's, which is small: the huge layer behind
    it is never built either."""
    small = nnframe.Network([nnframe.layer("dense", 4, 3), nnframe.layer("batch_norm")])
    path = small.build((4,), seed=0).save(tmp_path / "small.npz")
    arrays = read_npz(path)
    header = read_header(path, arrays.pop(HEADER_KEY))
    header["layers"][0]["config"]["output_size"] = 3 * 10**8
    header["layers"][0]["config"]["input_size"] = 4
    with open(path, "wb") as file:
        write_npz(file, {HEADER_KEY: header_bytes(header), **arrays})
    message, peak = refused(path)
    assert "'params/0.weights' has shape (4, 3), but the layer built from its config " \
           "expects (4, 300000000)" in message
    assert peak < MEMORY_BUDGET


@pytest.mark.parametrize(("name", "args", "input_shape"), [
    ("dense", (5, 3), (2, 5)),
    ("batch_norm", (), (4, 4, 3)),
    ("layer_norm", (), (6,)),
    ("embedding", (11, 2), (7,)),
])
def test_declared_shapes_are_the_built_ones(name, args, input_shape):
    layer = nnframe.layer(name, *args)
    declared = layer.parameter_shapes(input_shape)
    assert layer.params == {}
    layer.build(input_shape, np.random.default_rng(0), np.dtype("float32"))
    assert declared == {key: value.shape for key, value in layer.params.items()}


def test_declared_shapes_check_the_input_like_build():
    with pytest.raises(nnframe.ShapeError, match="expected input of size 5, got 4"):
        nnframe.layer("dense", 5, 3).parameter_shapes((4,))
    with pytest.raises(nnframe.ShapeError, match="at least one axis"):
        nnframe.layer("batch_norm").parameter_shapes(())
