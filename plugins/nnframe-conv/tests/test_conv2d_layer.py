"""conv2d: against a direct (slow, obvious) convolution, finite-difference gradients, shapes,
config and bad input."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

import nnframe

nnframe_conv = pytest.importorskip(
    "nnframe_conv", reason="nnframe-conv is not installed: `pip install ./plugins/nnframe-conv` "
    "or run `nox -s tests`")
Conv2D = nnframe_conv.Conv2D

F64 = np.dtype("float64")
F32 = np.dtype("float32")


def reference_conv2d(x, weights, bias, stride, padding):
    """Cross-correlation written out loop by loop, as the textbook defines it (NHWC)."""
    kh, kw, _, filters = weights.shape
    sh, sw = stride
    n, height, width, _ = x.shape
    if padding == "same":
        out_h, out_w = -(-height // sh), -(-width // sw)
        pad_h = max((out_h - 1) * sh + kh - height, 0)
        pad_w = max((out_w - 1) * sw + kw - width, 0)
        x = np.pad(x, ((0, 0), (pad_h // 2, pad_h - pad_h // 2),
                       (pad_w // 2, pad_w - pad_w // 2), (0, 0)))
    else:
        out_h, out_w = (height - kh) // sh + 1, (width - kw) // sw + 1
    y = np.zeros((n, out_h, out_w, filters))
    for sample in range(n):
        for row in range(out_h):
            for col in range(out_w):
                window = x[sample, row * sh:row * sh + kh, col * sw:col * sw + kw, :]
                for f in range(filters):
                    y[sample, row, col, f] = np.sum(window * weights[..., f]) + bias[f]
    return y


def built(layer, input_shape, rng, dtype=F64):
    layer.build(input_shape, rng, dtype)
    if "bias" in layer.params:  # a non-zero bias, so its gradient cannot hide behind zeros
        layer.params["bias"][...] = rng.standard_normal(layer.params["bias"].shape)
    return layer


CASES = list(itertools.product(
    [1, 2],                       # stride
    ["valid", "same"],            # padding
    [(6, 6), (7, 5)],             # even and odd image sizes
    [3, (2, 3)],                  # odd and even (non-square) kernels
    [1, 3],                       # input channels (1 takes the transposed im2col layout)
))


@pytest.mark.parametrize(("stride", "padding", "size", "kernel", "channels"), CASES)
def test_conv2d_matches_direct_reference(stride, padding, size, kernel, channels, rng):
    layer = built(Conv2D(4, kernel, stride=stride, padding=padding), (*size, channels), rng)
    x = rng.standard_normal((3, *size, channels))
    expected = reference_conv2d(x, layer.params["weights"], layer.params["bias"],
                                layer.stride, padding)
    y = layer.forward(x)
    assert y.shape == (3, *layer.output_shape((*size, channels)))
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.forward(x, training=True), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("stride", "padding", "size", "kernel", "channels"), CASES)
def test_conv2d_gradients(stride, padding, size, kernel, channels, rng, check_gradients):
    layer = built(Conv2D(4, kernel, stride=stride, padding=padding), (*size, channels), rng)
    check_gradients(layer, rng.standard_normal((2, *size, channels)), rng)


def test_conv2d_gradients_accumulate_nothing_between_batches(rng):
    """grads describe the last batch only: two backward passes give the same gradients."""
    layer = built(Conv2D(3, 3, padding="same"), (5, 5, 2), rng)
    x = rng.standard_normal((2, 5, 5, 2))
    g = rng.standard_normal((2, 5, 5, 3))
    layer.forward(x, training=True)
    first = layer.backward(g).copy(), layer.grads["weights"].copy()
    layer.forward(x, training=True)
    second = layer.backward(g), layer.grads["weights"]
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])


@pytest.mark.parametrize(("size", "kernel", "stride", "padding", "expected"), [
    ((28, 28), 3, 1, "valid", (26, 26)),
    ((28, 28), 3, 1, "same", (28, 28)),
    ((28, 28), 3, 2, "valid", (13, 13)),
    ((28, 28), 3, 2, "same", (14, 14)),
    ((7, 5), (2, 3), (2, 1), "valid", (3, 3)),
    ((7, 5), (2, 3), (2, 1), "same", (4, 5)),
    ((1, 1), 3, 1, "same", (1, 1)),
])
def test_conv2d_output_shape(size, kernel, stride, padding, expected, rng):
    layer = Conv2D(6, kernel, stride=stride, padding=padding)
    assert layer.output_shape((*size, 2)) == (*expected, 6)
    layer.build((*size, 2), rng, F32)
    assert layer.forward(np.zeros((2, *size, 2), np.float32)).shape == (2, *expected, 6)


def test_conv2d_parameters_follow_the_spec(rng):
    layer = Conv2D(8, (3, 2))
    layer.build((10, 9, 5), rng, F32)
    assert layer.params["weights"].shape == (3, 2, 5, 8)
    assert layer.params["bias"].shape == (8,)
    assert layer.in_channels == 5
    assert set(layer.grads) == {"weights", "bias"}
    assert all(g.shape == layer.params[k].shape for k, g in layer.grads.items())


def test_conv2d_declares_its_parameter_shapes_without_building(rng):
    layer = Conv2D(8, (3, 2))
    declared = layer.parameter_shapes((10, 9, 5))
    assert declared == {"weights": (3, 2, 5, 8), "bias": (8,)}
    assert layer.params == {} and layer.in_channels is None
    with pytest.raises(nnframe.ShapeError, match="larger than"):
        layer.parameter_shapes((2, 2, 5))


def test_a_file_declaring_a_huge_conv2d_without_weights_is_refused_cheaply(tmp_path):
    """The header of an unbuilt network with 720 MB of declared kernels and no arrays:
    loading compares the declared shapes first and allocates nothing."""
    import tracemalloc

    from nnframe.modelfile.format import HEADER_KEY, header_bytes, read_header
    from nnframe.modelfile.npz import read_npz, write_npz

    source = nnframe.Network([Conv2D(20000, 3)]).save(tmp_path / "unbuilt.npz")
    header = read_header(source, read_npz(source)[HEADER_KEY])
    header["input_shape"] = [8, 8, 1000]
    path = tmp_path / "huge.npz"
    with open(path, "wb") as file:
        write_npz(file, {HEADER_KEY: header_bytes(header)})
    tracemalloc.start()
    try:
        with pytest.raises(nnframe.ModelFileError, match=r"'params/0\.weights' are missing"):
            nnframe.load(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50 * 2**20


def test_conv2d_stays_float32(rng):
    layer = Conv2D(4, 3, padding="same")
    layer.build((6, 6, 3), rng, F32)
    assert {p.dtype for p in layer.params.values()} == {F32}
    x = rng.standard_normal((2, 6, 6, 3)).astype(np.float32)
    y = layer.forward(x, training=True)
    grad_input = layer.backward(np.ones_like(y))
    assert y.dtype == F32
    assert grad_input.dtype == F32
    assert {g.dtype for g in layer.grads.values()} == {F32}


@pytest.mark.parametrize("channels", [1, 3])
def test_conv2d_backward_parameters_fills_the_same_gradients_as_backward(channels, rng):
    """The first layer of a network is asked only for its parameter gradients."""
    layer = built(Conv2D(4, 3, stride=2, padding="same"), (7, 6, channels), rng)
    x = rng.standard_normal((3, 7, 6, channels))
    g = rng.standard_normal((3, 4, 3, 4))
    layer.forward(x, training=True)
    layer.backward(g)
    expected = {name: grad.copy() for name, grad in layer.grads.items()}
    for grad in layer.grads.values():
        grad[...] = 0.0
    layer.forward(x, training=True)
    assert layer.backward_parameters(g) is None
    for name, grad in layer.grads.items():
        np.testing.assert_array_equal(grad, expected[name])


def test_a_network_asks_its_first_conv_for_parameter_gradients_only(rng, monkeypatch):
    net = nnframe.Network([Conv2D(2, 3), nnframe.layer("flatten"),
                           nnframe.layer("dense", output_size=3)]).use("cross_entropy", "sgd")
    calls = []
    original = Conv2D.backward
    monkeypatch.setattr(Conv2D, "backward",
                        lambda self, g: calls.append("backward") or original(self, g))
    x, y = rng.standard_normal((8, 5, 5, 1)), np.array([0, 1, 2, 0] * 2)
    net.fit(x, y, epochs=1, batch_size=4, verbose=0)
    # backward only on the first batch, where backward_parameters is compared with it;
    # then backward_parameters stands in for it
    assert calls == ["backward"]


def test_conv2d_inference_does_not_disturb_training_cache(rng):
    """A forward pass without training (say, on a validation batch) between the training
    forward and backward leaves backward's inputs alone."""
    layer = built(Conv2D(3, 3), (6, 6, 2), rng)
    x = rng.standard_normal((2, 6, 6, 2))
    g = rng.standard_normal((2, 4, 4, 3))
    layer.forward(x, training=True)
    expected = layer.backward(g).copy()
    layer.forward(x, training=True)
    layer.forward(rng.standard_normal((2, 6, 6, 2)))
    np.testing.assert_array_equal(layer.backward(g), expected)


def test_conv2d_config_round_trips_through_the_registry():
    layer = nnframe.layer("conv2d", 8, (3, 5), stride=2, padding="same", init="he_normal")
    config = layer.get_config()
    assert json.loads(json.dumps(config)) == config
    assert config == {"filters": 8, "kernel_size": [3, 5], "stride": [2, 2], "padding": "same",
                      "init": "he_normal", "dilation": [1, 1], "groups": 1,
                      "padding_mode": "zeros", "use_bias": True}
    rebuilt = nnframe.layer("conv2d", **config)
    assert rebuilt.get_config() == config


def test_conv2d_rejects_2d_input_with_a_reshape_hint(rng):
    layer = built(Conv2D(4, 3), (28, 28, 1), rng)
    with pytest.raises(nnframe.ShapeError, match=r"conv2d.*reshape to \(N, H, W, C\)"):
        layer.forward(np.zeros((5, 784)))
    with pytest.raises(nnframe.ShapeError, match=r"conv2d.*reshape.*\(N, H, W, C\).*"
                                                 r"x\.reshape\(-1, 28, 28, 1\)"):
        Conv2D(4, 3).output_shape((784,))


def test_conv2d_rejects_a_single_image_without_batch_axis(rng):
    layer = built(Conv2D(4, 3), (8, 8, 1), rng)
    with pytest.raises(nnframe.ShapeError, match=r"conv2d.*x\[None\]"):
        layer.forward(np.zeros((8, 8, 1)))


def test_conv2d_rejects_a_kernel_larger_than_the_padded_input(rng):
    with pytest.raises(nnframe.ShapeError, match=r"conv2d.*5x5 kernel is larger than the 4x6"):
        Conv2D(2, 5).build((4, 6, 1), rng, F32)
    # "same" pads up to the kernel, so the same sizes are fine there
    assert Conv2D(2, 5, padding="same").output_shape((4, 6, 1)) == (4, 6, 2)


def test_conv2d_rejects_wrong_channel_count_after_build(rng):
    layer = built(Conv2D(4, 3), (8, 8, 3), rng)
    with pytest.raises(nnframe.ShapeError, match="conv2d was built for 3 input channels, got 1"):
        layer.forward(np.zeros((2, 8, 8, 1)))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"filters": 4, "kernel_size": 3, "stride": 0}, "conv2d: stride must be a positive"),
    ({"filters": 4, "kernel_size": 3, "stride": (1, -2)}, "conv2d: stride must be a positive"),
    ({"filters": 4, "kernel_size": 0}, "conv2d: kernel_size must be a positive"),
    ({"filters": 4, "kernel_size": (3, 3, 3)}, "conv2d: kernel_size must be a positive"),
    ({"filters": 4, "kernel_size": 2.5}, "conv2d: kernel_size must be a positive"),
    ({"filters": 0, "kernel_size": 3}, "filters must be a positive integer"),
    ({"filters": 4, "kernel_size": 3, "padding": "full"}, "conv2d: padding must be 'valid'"),
    ({"filters": 4, "kernel_size": 3, "init": "nope"}, "unknown initializer 'nope'"),
])
def test_conv2d_rejects_bad_arguments(kwargs, message):
    with pytest.raises(nnframe.ConfigError, match=message):
        nnframe.layer("conv2d", **kwargs)


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize(("pixels", "filters"), [
    (10, 8),          # small: a plain +=
    (8192, 8),        # wide rows, nothing left over
    (8195, 8),        # wide rows and 3 rows left over
    (4099, 16),
    (700, 100),       # a filter count that does not divide the wide row
    (1000, 300),      # too many filters to tile: a plain +=
])
def test_add_bias_is_a_plain_broadcast_add(pixels, filters, dtype, rng):
    """The wide-row bias add gives exactly ``y += bias`` (the same additions, in another
    order of rows), including the rows that do not fill a wide row."""
    from nnframe_conv.conv2d import add_bias

    y = rng.standard_normal((pixels, filters)).astype(dtype)
    bias = rng.standard_normal(filters).astype(dtype)
    expected = y + bias
    add_bias(y, bias)
    assert y.dtype == dtype
    np.testing.assert_array_equal(y, expected)


def test_conv2d_on_a_large_batch_matches_the_reference(rng):
    """Outputs large enough for the wide-row bias add (and one input channel, the
    transposed window matrix) still equal the direct convolution."""
    layer = Conv2D(8, 3)
    layer.build((12, 12, 1), rng, F64)
    layer.params["bias"][:] = rng.standard_normal(8)
    x = rng.standard_normal((700, 12, 12, 1))
    expected = reference_conv2d(x[:5], layer.params["weights"], layer.params["bias"],
                                (1, 1), "valid")
    y = layer.forward(x)
    assert y[0].size * len(y) >= nnframe_conv.conv2d.WIDE_BIAS_MIN
    np.testing.assert_allclose(y[:5], expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(y[-5:], layer.forward(x[-5:]), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("contiguous", [True, False])
@pytest.mark.parametrize(("kernel", "stride"), [((3, 3), (1, 1)), ((2, 3), (2, 1)),
                                                 ((3, 2), (2, 3))])
def test_window_view_is_every_window_without_a_copy(kernel, stride, contiguous, rng):
    """window_view gives NumPy's sliding_window_view, strided, read-only, on contiguous
    batches and on views of larger arrays alike."""
    from nnframe_conv.windows import sliding_axis, window_view
    from numpy.lib.stride_tricks import sliding_window_view

    base = rng.standard_normal((3, 9, 11, 4)).astype(np.float32)
    x = base if contiguous else base[:, 1:, ::2, 1:]
    rows = sliding_axis(x.shape[1], kernel[0], stride[0])
    cols = sliding_axis(x.shape[2], kernel[1], stride[1])
    view = window_view(x, rows, cols)
    expected = sliding_window_view(x, kernel, axis=(1, 2))[:, ::stride[0], ::stride[1]]
    np.testing.assert_array_equal(view, expected[:, :rows.out, :cols.out])
    assert np.shares_memory(view, x) and not view.flags.writeable
