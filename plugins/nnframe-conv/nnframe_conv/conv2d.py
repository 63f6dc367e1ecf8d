"""2-D convolution over channels-last images, as one matrix product (im2col).

Forward: every (kernel_h, kernel_w, C) window of the (padded) input becomes one row of a
matrix ``cols`` (built from a strided view, copied once), and ``y = cols @ W + b`` with
``W`` reshaped to (kernel_h * kernel_w * C, filters). Backward: ``dW = cols.T @ dY``,
``db = sum(dY)`` and ``dcols = dY @ W.T``, which col2im scatters back onto the input with
kernel_h * kernel_w strided slice-adds (one per position inside the window).

Grouped convolutions (``groups`` > 1, depthwise ones included) build the same matrix one
block of columns per group, (groups, pixels, kernel_h * kernel_w * C / groups), and do
each product as one batched matmul over the groups (`grouped`).
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs
import numpy as np

import nnframe
from nnframe.checks.arguments import positive_int, to_int
from nnframe.core.contracts.initializer import check_init, initialize
from nnframe.speed.parallel import split_batch, split_rows
from nnframe.speed.workspace import Workspace
from nnframe_conv import grouped
from nnframe_conv.padding import PADDING_MODES, check_fits, fold, pad
from nnframe_conv.windows import (
    Axis,
    Pair,
    axes,
    batch_shape,
    check_padding,
    image_shape,
    positive_pair,
    to_padding,
    to_pair,
)

#: Outputs below this many elements take the bias with a plain ``+=``.
WIDE_BIAS_MIN = 65_536
#: The row width (elements) the bias is tiled to on larger outputs.
WIDE_BIAS_ROW = 512


def add_bias(y: np.ndarray, bias: np.ndarray) -> None:
    """``y += bias`` on a C-contiguous (pixels, filters) output.

    NumPy adds a short vector along a long array row by row, and with 8 or 16 filters
    a row is too short to be fast: 0.8 ms for a batch of 128 28x28 maps of 8 filters.
    Seen as rows of ``WIDE_BIAS_ROW`` elements with the bias tiled to match, the same sum
    takes 0.16 ms. The few rows that do not fill a wide row are added as they are."""
    pixels, filters = y.shape
    repeats = WIDE_BIAS_ROW // filters
    if y.size < WIDE_BIAS_MIN or repeats < 2:
        y += bias
        return
    whole = pixels - pixels % repeats
    wide = y[:whole].reshape(-1, repeats * filters)
    wide += np.repeat(bias[None], repeats, axis=0).reshape(-1)
    if whole < pixels:
        y[whole:] += bias


def _check_padding_mode(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if value not in PADDING_MODES:
        raise nnframe.ConfigError(
            f"{instance.layer_name}: padding_mode must be one of "
            f"{', '.join(map(repr, PADDING_MODES))} (as in PyTorch), got {value!r}")


def _check_bool(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if not isinstance(value, (bool, np.bool_)):
        raise nnframe.ConfigError(
            f"{instance.layer_name}: {attribute.name} must be true or false, got {value!r}")


@attrs.define(eq=False)
class Conv2D(nnframe.Layer):
    """2-D convolution, channels-last: (N, H, W, C) -> (N, H', W', filters).

    PyTorch's ``nn.Conv2d`` on channels-last images; ``filters`` is its ``out_channels``
    and input channels are inferred at build. ``kernel_size``, ``stride`` and
    ``dilation`` (cells between kernel taps) are an int or a (height, width) pair.
    ``padding`` is ``"valid"`` (none), ``"same"`` (``ceil(size / stride)`` outputs, as in
    Keras) or PyTorch's explicit cells per side, an int or a (height, width) pair; the
    padded cells are zeros or, with ``padding_mode`` ``"reflect"``, ``"replicate"`` or
    ``"circular"``, copies of input cells as in PyTorch. ``groups`` splits the channels
    into that many groups convolved separately (``groups`` = input channels: a depthwise
    convolution); both channel counts must divide by it. ``use_bias`` is PyTorch's
    ``bias``. ``weights`` has shape (kernel_h, kernel_w, in_channels / groups, filters)
    (PyTorch's ``weight`` transposed (2, 3, 1, 0)), ``bias`` (filters,).
    """

    layer_name: ClassVar[str] = "conv2d"
    #: Arguments and input for ``nnframe check`` (see nnframe.testing.hints): stride 2 with
    #: "same" padding exercises the uneven padding and the strided col2im.
    check_hints: ClassVar[dict] = {
        "config": {"filters": 4, "kernel_size": 3, "stride": 2, "padding": "same"},
        "input_shape": (6, 6, 2),
    }

    filters: int = attrs.field(converter=to_int, validator=positive_int)
    kernel_size: Pair = attrs.field(converter=to_pair, validator=positive_pair)
    stride: Pair = attrs.field(default=1, converter=to_pair, validator=positive_pair)
    padding: str | Pair = attrs.field(default="valid", converter=to_padding,
                                      validator=check_padding)
    init: str = attrs.field(default="glorot_uniform", validator=check_init)
    dilation: Pair = attrs.field(default=1, converter=to_pair, validator=positive_pair)
    groups: int = attrs.field(default=1, converter=to_int, validator=positive_int)
    padding_mode: str = attrs.field(default="zeros", validator=_check_padding_mode)
    use_bias: bool = attrs.field(default=True, validator=_check_bool)
    in_channels: int | None = attrs.field(init=False, default=None)
    _cols: np.ndarray | None = attrs.field(init=False, default=None, repr=False)
    _geometry: tuple[Axis, Axis] | None = attrs.field(init=False, default=None, repr=False)
    _buffers: Workspace = attrs.field(init=False, factory=Workspace, repr=False)

    # -- shapes --------------------------------------------------------------------------

    def _axes(self, height: int, width: int) -> tuple[Axis, Axis]:
        rows, cols = axes(height, width, self.kernel_size, self.stride, self.padding,
                          self.dilation)
        if rows.out < 1 or cols.out < 1:
            kh, kw = rows.span, cols.span
            dilated = " (dilated)" if self.dilation != (1, 1) else ""
            raise nnframe.ShapeError(
                f"{self.layer_name}: the {kh}x{kw} kernel{dilated} is larger than the "
                f"{rows.padded}x{cols.padded} (padded) input; use padding='same', a smaller "
                "kernel_size or dilation, or fewer pooling layers before this one"
            )
        if self.padding_mode != "zeros":
            check_fits(self.layer_name, self.padding_mode, rows, "top or bottom")
            check_fits(self.layer_name, self.padding_mode, cols, "left or right")
        return rows, cols

    def _check_channels(self, channels: int) -> None:
        if self.in_channels is not None and channels != self.in_channels:
            raise nnframe.ShapeError(
                f"{self.layer_name} was built for {self.in_channels} input channels, got "
                f"{channels}; images are channels-last (N, H, W, C)"
            )
        if channels % self.groups or self.filters % self.groups:
            raise nnframe.ShapeError(
                f"{self.layer_name}: groups={self.groups} must divide both the input "
                f"channels ({channels}) and filters ({self.filters}); choose groups among "
                "their common divisors"
            )

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        height, width, channels = image_shape(self.layer_name, input_shape)
        self._check_channels(channels)
        rows, cols = self._axes(height, width)
        return (rows.out, cols.out, self.filters)

    def parameter_shapes(self, input_shape: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
        """``weights`` (kernel_h, kernel_w, in_channels, filters) and ``bias`` (filters,),
        without building: model loading compares the stored arrays with these first."""
        height, width, channels = image_shape(self.layer_name, input_shape)
        self._check_channels(channels)
        self._axes(height, width)
        kh, kw = self.kernel_size
        shapes = {"weights": (kh, kw, channels // self.groups, self.filters)}
        if self.use_bias:
            shapes["bias"] = (self.filters,)
        return shapes

    def build(self, input_shape: tuple[int, ...], rng: np.random.Generator,
              dtype: np.dtype) -> None:
        height, width, channels = image_shape(self.layer_name, input_shape)
        self.in_channels = None
        self._check_channels(channels)
        self._axes(height, width)
        kh, kw = self.kernel_size
        shape = (kh, kw, channels // self.groups, self.filters)
        # fans per output and per input cell, as PyTorch counts them for grouped kernels
        fan_in, fan_out = kh * kw * shape[2], kh * kw * self.filters // self.groups
        self.params = {"weights": initialize(self.init, shape, fan_in, fan_out, rng, dtype)}
        if self.use_bias:
            bias_init = "seed_uniform" if self.init == "seed_uniform" else "zeros"
            self.params["bias"] = initialize(bias_init, (self.filters,), fan_in, fan_out,
                                             rng, dtype)
        self.in_channels = channels
        self.grads = {name: np.zeros_like(value) for name, value in self.params.items()}
        self._buffers.clear()

    # -- forward and backward ------------------------------------------------------------

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        n, height, width, channels = batch_shape(self.layer_name, x)
        self._check_channels(channels)
        rows, cols = self._axes(height, width)
        # Training keeps cols for backward in a reused buffer; inference allocates afresh
        # so that a big prediction batch does not pin memory.
        buffers = self._buffers if training else Workspace()
        padded = self._pad(x, rows, cols, buffers)
        if self.groups > 1:
            matrix = grouped.im2col(padded, rows, cols, self.groups, buffers)
            y = grouped.product(matrix, self.params["weights"], self.groups)
        else:
            matrix = self._im2col(padded, rows, cols, buffers)
            weights = self.params["weights"].reshape(-1, self.filters)
            y = (matrix.T if channels == 1 else matrix) @ weights
        if self.use_bias:
            add_bias(y, self.params["bias"])
        if training:
            self._cols = matrix
            self._geometry = (rows, cols)
        return y.reshape(n, rows.out, cols.out, self.filters)

    def _pad(self, x: np.ndarray, rows: Axis, cols: Axis, buffers: Workspace) -> np.ndarray:
        if rows.padded == rows.size and cols.padded == cols.size:
            return x
        if self.padding_mode != "zeros":
            return pad(x, rows, cols, self.padding_mode)
        n, height, width, channels = x.shape
        shape = (n, rows.padded, cols.padded, channels)
        padded = buffers.constant("padded", shape, x.dtype, 0.0)  # borders stay zero
        padded[:, rows.pad_before:rows.pad_before + height,
               cols.pad_before:cols.pad_before + width] = x
        return padded

    def _im2col(self, padded: np.ndarray, rows: Axis, cols: Axis,
                buffers: Workspace) -> np.ndarray:
        """The window matrix: one row per output pixel (N * H' * W' rows), its columns in
        the weights' (kernel_h, kernel_w, C) order.

        With one input channel it is built transposed, (kernel_h * kernel_w, N * H' * W'):
        each window position is then whole image rows, where the row layout would copy
        one element at a time (measured 1.5-2x faster, backward included).
        """
        kh, kw = self.kernel_size
        n, _, _, channels = padded.shape
        pixels = n * rows.out * cols.out
        # the named kernel (`nnframe_conv.kernels`): one copy of the strided view of all
        # windows, images split over the threads
        im2col = nnframe.kernel("im2col")

        def gather(patches: np.ndarray, images: np.ndarray) -> None:
            im2col(images, patches, stride=self.stride, dilation=self.dilation)

        if channels == 1:
            patches = buffers.get("cols", (kh, kw, n, rows.out, cols.out), padded.dtype)

            # (N, H', W', kh, kw) seen as (kh, kw, N, H', W'): one copy of the whole
            # block, 1.05-3.5x faster than a copy per window position (3.5x for one
            # image, 1.2x for a batch of 128)
            def by_images(start: int, stop: int) -> None:  # images start:stop
                gather(patches[:, :, start:stop], padded[start:stop])

            split_rows(by_images, n, rows.out * cols.out * kh * kw)
            return patches.reshape(kh * kw, pixels)
        patches = buffers.get("cols", (n, rows.out, cols.out, kh, kw, channels), padded.dtype)
        split_batch(gather, patches, padded)
        return patches.reshape(pixels, kh * kw * channels)

    def backward_parameters(self, grad_output: np.ndarray) -> None:
        """Fill the weight and bias gradients only: the network asks the first layer with
        parameters for this, since nothing needs dE/dX of the input images (no col2im)."""
        self._parameter_grads(grad_output)

    def _parameter_grads(self, grad_output: np.ndarray) -> np.ndarray:
        """Fill ``grads``; return dE/dY as (pixels, filters) for `backward` to go on with."""
        if self._cols is None or self._geometry is None:
            raise RuntimeError("Conv2D.backward called before forward(x, training=True)")
        grad = grad_output.reshape(-1, self.filters)
        if self.groups > 1:
            grouped.weight_grads(self._cols, grad, self.grads["weights"], self.groups)
        else:
            grad_weights = self.grads["weights"].reshape(-1, self.filters)
            np.matmul(self._cols if self.in_channels == 1 else self._cols.T, grad,
                      out=grad_weights)
        if self.use_bias:
            # A matrix-vector product sums over the rows far faster than np.sum on a
            # narrow array.
            ones = self._buffers.constant("ones", (grad.shape[0],), grad.dtype, 1.0)
            np.matmul(ones, grad, out=self.grads["bias"])
        return grad

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        grad = self._parameter_grads(grad_output)
        rows, cols = self._geometry
        if self.groups > 1:
            padded = grouped.col2im(grad, self.params["weights"], rows, cols, self.groups,
                                    grad_output.shape[0], self.in_channels)
            return self._unpad(padded, rows, cols)
        kh, kw = self.kernel_size
        n = grad_output.shape[0]
        channels = self.in_channels
        pixels = grad.shape[0]
        weights = self.params["weights"].reshape(kh * kw, channels, self.filters)
        # dcols, laid out window position first, (kh * kw, N * H' * W', C), so that each
        # slice-add of col2im reads a contiguous block.
        dcols = self._buffers.get("dcols", (kh * kw, pixels, channels), grad.dtype)
        if channels == 1:
            np.matmul(weights[:, 0], grad.T, out=dcols[:, :, 0])
        else:
            np.matmul(grad, weights.transpose(0, 2, 1), out=dcols)
        dcols = dcols.reshape(kh, kw, n, rows.out, cols.out, channels)
        # col2im, the named kernel (`nnframe_conv.kernels`): window position (i, j) of
        # every output pixel adds onto one strided slice, images split over the threads.
        grad_input = np.empty((n, rows.padded, cols.padded, channels), grad_output.dtype)
        col2im = nnframe.kernel("col2im")

        def scatter(start: int, stop: int) -> None:  # images start:stop
            col2im(dcols[:, :, start:stop], grad_input[start:stop], stride=self.stride,
                   dilation=self.dilation)

        split_rows(scatter, n, rows.padded * cols.padded * channels * kh * kw)
        return self._unpad(grad_input, rows, cols)

    def _unpad(self, grad: np.ndarray, rows: Axis, cols: Axis) -> np.ndarray:
        """dE/dX from the gradient of the padded input: the padding cut off, or, for a
        padding mode that copies input cells, folded back onto them."""
        if rows.padded == rows.size and cols.padded == cols.size:
            return grad
        if self.padding_mode != "zeros":
            return fold(grad, rows, cols, self.padding_mode)
        return grad[:, rows.pad_before:rows.pad_before + rows.size,
                    cols.pad_before:cols.pad_before + cols.size]
