"""1-D convolution over channels-last sequences, (N, time, C) -> (N, time', filters).

A sequence is an image one row high: the layer runs a `Conv2D` with a (1, kernel_size)
kernel on (N, 1, time, C), through views of its own arrays, so every option and the tuned
paths of conv2d serve it unchanged.
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs
import numpy as np

import nnframe
from nnframe.checks.arguments import positive_int, to_int
from nnframe.core.contracts.initializer import check_init
from nnframe_conv.conv2d import Conv2D, _check_bool, _check_padding_mode


def _to_padding(value: Any) -> Any:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    return value


def _check_padding(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if value in ("valid", "same") or (isinstance(value, int) and not isinstance(value, bool)
                                      and value >= 0):
        return
    raise nnframe.ConfigError(
        f"{instance.layer_name}: padding must be 'valid' (no padding), 'same' (output "
        "length = ceil(length / stride)), or the steps padded at each end as an integer "
        f">= 0 (PyTorch's), got {value!r}")


def sequence_shape(layer_name: str, input_shape: tuple[int, ...]) -> tuple[int, int]:
    """(time, channels) of one sample, or a `ShapeError` saying how to get there."""
    shape = tuple(int(s) for s in input_shape)
    if len(shape) != 2:
        hint = ("; add a channel axis, e.g. x[..., None]" if len(shape) == 1 else
                "; for images use conv2d")
        raise nnframe.ShapeError(
            f"{layer_name} expects channels-last sequences, a batch shaped (N, time, C), so "
            f"samples of shape (time, C); got samples of shape {shape}{hint}")
    return shape  # type: ignore[return-value]


@attrs.define(eq=False)
class _RowConv(Conv2D):
    """The conv2d inside a conv1d, named as the conv1d in its errors."""

    layer_name: ClassVar[str] = "conv1d"


@attrs.define(eq=False)
class Conv1D(nnframe.Layer):
    """1-D convolution, channels-last: (N, time, C) -> (N, time', filters).

    PyTorch's ``nn.Conv1d`` on (N, time, C) sequences; ``filters`` is its
    ``out_channels``. ``kernel_size``, ``stride`` and ``dilation`` are ints; ``padding`` is
    ``"valid"``, ``"same"`` or PyTorch's steps at each end; ``padding_mode``, ``groups``
    and ``use_bias`` (PyTorch's ``bias``) as in conv2d. ``weights`` has shape
    (kernel_size, in_channels / groups, filters) (PyTorch's ``weight`` transposed
    (2, 1, 0)), ``bias`` (filters,).
    """

    layer_name: ClassVar[str] = "conv1d"
    check_hints: ClassVar[dict] = {
        "config": {"filters": 4, "kernel_size": 3, "stride": 2, "padding": "same"},
        "input_shape": (7, 2),
    }

    filters: int = attrs.field(converter=to_int, validator=positive_int)
    kernel_size: int = attrs.field(converter=to_int, validator=positive_int)
    stride: int = attrs.field(default=1, converter=to_int, validator=positive_int)
    padding: str | int = attrs.field(default="valid", converter=_to_padding,
                                     validator=_check_padding)
    init: str = attrs.field(default="glorot_uniform", validator=check_init)
    dilation: int = attrs.field(default=1, converter=to_int, validator=positive_int)
    groups: int = attrs.field(default=1, converter=to_int, validator=positive_int)
    padding_mode: str = attrs.field(default="zeros", validator=_check_padding_mode)
    use_bias: bool = attrs.field(default=True, validator=_check_bool)
    _inner: Conv2D | None = attrs.field(init=False, default=None, repr=False)

    @property
    def _conv(self) -> Conv2D:
        """The conv2d that does the work, made on first use (after validation)."""
        if self._inner is None:
            padding = self.padding if isinstance(self.padding, str) else (0, self.padding)
            self._inner = _RowConv(self.filters, (1, self.kernel_size), (1, self.stride),
                                   padding, self.init, (1, self.dilation), self.groups,
                                   self.padding_mode, self.use_bias)
        return self._inner

    def _image(self, input_shape: tuple[int, ...]) -> tuple[int, int, int]:
        time, channels = sequence_shape(self.layer_name, input_shape)
        return (1, time, channels)

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return self._conv.output_shape(self._image(input_shape))[1:]

    def parameter_shapes(self, input_shape: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
        """``weights`` (kernel_size, in_channels / groups, filters), ``bias`` (filters,)."""
        shapes = self._conv.parameter_shapes(self._image(input_shape))
        return {name: shape[1:] if name == "weights" else shape
                for name, shape in shapes.items()}

    def build(self, input_shape: tuple[int, ...], rng: np.random.Generator,
              dtype: np.dtype) -> None:
        self._conv.build(self._image(input_shape), rng, dtype)
        self.params = {name: value[0] if name == "weights" else value
                       for name, value in self._conv.params.items()}
        self.grads = {name: np.zeros_like(value) for name, value in self.params.items()}

    def _bind(self) -> Conv2D:
        """The inner conv2d on views of this layer's arrays (a network may have moved
        them into its buffers since build)."""
        conv = self._conv
        conv.params = {name: value[None] if name == "weights" else value
                       for name, value in self.params.items()}
        conv.grads = {name: value[None] if name == "weights" else value
                      for name, value in self.grads.items()}
        return conv

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if x.ndim != 3:
            raise nnframe.ShapeError(
                f"{self.layer_name} expects a batch of sequences shaped (N, time, C), got an "
                f"array of shape {x.shape}")
        return self._bind().forward(x[:, None], training)[:, 0]

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        return self._bind().backward(grad_output[:, None])[:, 0]

    def backward_parameters(self, grad_output: np.ndarray) -> None:
        self._bind().backward_parameters(grad_output[:, None])
