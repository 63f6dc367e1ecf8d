"""Positions added to a sequence's features: ``positional_embedding`` (learned, as GPT's
``wpe``) and ``sinusoidal_position`` (fixed, as in "Attention Is All You Need").

Both keep the shape (N, time, F): y[:, t] = x[:, t] + P[t]. With ``padding_mask`` the
input's last channel is the mask, which is passed on untouched.
"""

from __future__ import annotations

from typing import ClassVar

import attrs
import numpy as np

import nnframe
from nnframe.checks.arguments import positive_int, to_int
from nnframe_attention.sequences import batch_shape, check_bool, sample_shape


def sinusoids(time: int, features: int, dtype: np.dtype) -> np.ndarray:
    """(time, features): P[t, 2i] = sin(t / 10000^(2i/F)), P[t, 2i+1] = cos(the same)."""
    positions = np.arange(time, dtype=np.float64)[:, None]
    rates = np.exp(np.arange(0, features, 2, dtype=np.float64) * (-np.log(10000.0) / features))
    table = np.empty((time, features))
    table[:, 0::2] = np.sin(positions * rates)
    table[:, 1::2] = np.cos(positions * rates[: features // 2])
    return table.astype(dtype)


@attrs.define(eq=False)
class _Positions(nnframe.Layer):
    """What both share: shapes, the mask channel, the add and its gradient."""

    layer_name: ClassVar[str] = "positions"

    padding_mask: bool = attrs.field(default=False, validator=check_bool, kw_only=True)

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        self._time_and_features(input_shape)
        return tuple(int(s) for s in input_shape)

    def _time_and_features(self, input_shape: tuple[int, ...]) -> tuple[int, int]:
        return sample_shape(self.layer_name, input_shape, self.padding_mask)

    def table(self, time: int, features: int, dtype: np.dtype) -> np.ndarray:
        """P[:time], (time, features)."""
        raise NotImplementedError

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        batch_shape(self.layer_name, x)
        time, features = self._time_and_features(x.shape[1:])
        y = np.array(x, copy=True)
        y[..., :features] += self.table(time, features, y.dtype)
        return y


@attrs.define(eq=False)
class PositionalEmbedding(_Positions):
    """A learned position vector added to each step: ``weights`` (max_length, F), drawn
    from N(0, 0.02) as GPT-2 and nanoGPT do; sequences may be up to max_length long."""

    layer_name: ClassVar[str] = "positional_embedding"
    check_hints: ClassVar[dict] = {"config": {"max_length": 6}, "input_shape": (4, 3)}

    max_length: int = attrs.field(converter=to_int, validator=positive_int)
    _time: int | None = attrs.field(init=False, default=None, repr=False)

    def _time_and_features(self, input_shape: tuple[int, ...]) -> tuple[int, int]:
        time, features = super()._time_and_features(input_shape)
        if time > self.max_length:
            raise nnframe.ShapeError(
                f"{self.layer_name} holds positions for up to {self.max_length} steps, got "
                f"sequences of {time}; raise max_length")
        built = self.params.get("weights")
        if built is not None and built.shape[1] != features:
            raise nnframe.ShapeError(f"{self.layer_name} was built for {built.shape[1]} "
                                     f"features per step, got {features}")
        return time, features

    def parameter_shapes(self, input_shape: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
        """``weights`` (max_length, F)."""
        _, features = self._time_and_features(input_shape)
        return {"weights": (self.max_length, features)}

    def build(self, input_shape: tuple[int, ...], rng: np.random.Generator,
              dtype: np.dtype) -> None:
        self.params = {}
        _, features = self._time_and_features(input_shape)
        weights = (0.02 * rng.standard_normal((self.max_length, features))).astype(dtype)
        self.params = {"weights": weights}
        self.grads = {"weights": np.zeros_like(weights)}

    def table(self, time: int, features: int, dtype: np.dtype) -> np.ndarray:
        return self.params["weights"][:time]

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        y = super().forward(x, training)
        if training:
            self._time = x.shape[1]
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        if self._time is None:
            raise RuntimeError("PositionalEmbedding.backward called before "
                               "forward(x, training=True)")
        features = self.params["weights"].shape[1]
        grads = self.grads["weights"]
        grads[...] = 0.0
        grad_output[..., :features].sum(axis=0, out=grads[: self._time])
        return grad_output


@attrs.define(eq=False)
class SinusoidalPosition(_Positions):
    """Fixed sines and cosines added to each step (no parameters): any length, any F."""

    layer_name: ClassVar[str] = "sinusoidal_position"
    check_hints: ClassVar[dict] = {"config": {}, "input_shape": (4, 5)}

    _cache: dict = attrs.field(init=False, factory=dict, repr=False)

    def parameter_shapes(self, input_shape: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
        """No parameters."""
        return {}

    def table(self, time: int, features: int, dtype: np.dtype) -> np.ndarray:
        key = (time, features, np.dtype(dtype).str)
        if key not in self._cache:
            self._cache.clear()
            self._cache[key] = sinusoids(time, features, dtype)
        return self._cache[key]

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        return grad_output
