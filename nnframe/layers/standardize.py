"""``standardize``: (x - mean) / sqrt(variance + eps) per feature of the last axis, with the
statistics fitted once by `Standardize.adapt` on the training data and kept as state.

Keras' ``Normalization`` layer is the model: the statistics are data, saved in the model
file with the weights, so a saved model reads raw inputs in the user's units. Nothing is
trained: the statistics change only when `adapt` is called (`Network.fit` adapts a
leading ``standardize`` layer that was never adapted, on the training split alone).
"""

from __future__ import annotations

from typing import ClassVar

import attrs
import numpy as np

from nnframe.checks.arguments import positive_float, to_float
from nnframe.core.contracts import Layer, Shape
from nnframe.errors import DataError, ShapeError


@attrs.define(eq=False)
class Standardize(Layer):
    """Standardise each feature of the last axis with statistics fitted by `adapt`.

    State: ``mean`` (zeros) and ``variance`` (ones), one value per feature, and ``count``,
    the number of samples they were fitted on (0: not adapted yet, the layer is then the
    identity). Features with zero variance are only shifted (as scikit-learn's
    StandardScaler does).
    """

    layer_name: ClassVar[str] = "standardize"
    #: Images exercise the statistics over every axis but the last.
    check_hints: ClassVar[dict] = {"input_shape": (2, 2, 3)}

    eps: float = attrs.field(default=1e-12, converter=to_float, validator=positive_float)

    _features: int | None = attrs.field(init=False, default=None, repr=False)
    _scale: np.ndarray | None = attrs.field(init=False, default=None, repr=False)

    def _features_of(self, sample_shape: Shape) -> int:
        if len(sample_shape) == 0:
            raise ShapeError("standardize works on the features of the last axis, so each "
                             "sample needs at least one axis; reshape the data to "
                             "(N, features)")
        features = int(sample_shape[-1])
        if self._features is not None and features != self._features:
            raise ShapeError(f"standardize was built for {self._features} features on the "
                             f"last axis, got {features} (sample shape {tuple(sample_shape)})")
        return features

    def output_shape(self, input_shape: Shape) -> Shape:
        self._features_of(input_shape)
        return tuple(input_shape)

    def parameter_shapes(self, input_shape: Shape) -> dict[str, Shape]:
        """No parameters: the statistics are state."""
        self._features_of(input_shape)
        return {}

    def build(self, input_shape: Shape, rng: np.random.Generator, dtype: np.dtype) -> None:
        self._features = None
        features = self._features_of(input_shape)
        self.params, self.grads = {}, {}
        self.state = {"mean": np.zeros(features, dtype), "variance": np.ones(features, dtype),
                      "count": np.zeros((), np.int64)}
        self._features = features

    @property
    def adapted(self) -> bool:
        """Whether `adapt` has fitted the statistics (they are saved and loaded with it)."""
        return bool(self.state) and int(self.state["count"]) > 0

    def adapt(self, x: np.ndarray) -> None:
        """Fit the mean and the (biased) variance of each feature on ``x`` (N, ..., features),
        in float64, into the state arrays in place."""
        if not self.state:
            raise ShapeError("standardize must be built before adapt(); build the network "
                             "first (fit adapts it itself)")
        x = np.asarray(x)
        rows = x.reshape(-1, self._features_of(x.shape[1:]))
        if not len(rows):
            raise DataError("standardize.adapt got no samples to fit the statistics on")
        values = rows.astype(np.float64)
        mean = values.mean(axis=0)
        variance = ((values - mean) ** 2).mean(axis=0)
        self.state["mean"][...] = mean
        self.state["variance"][...] = variance
        self.state["count"][...] = len(x)

    def scale_factor(self, dtype: np.dtype) -> np.ndarray:
        """1 / sqrt(variance + eps) per feature, 1 where a feature does not vary (the
        ONNX converter reads it too)."""
        variance = self.state["variance"].astype(np.float64)
        factor = np.where(variance > 0.0, 1.0 / np.sqrt(variance + self.eps), 1.0)
        return factor.astype(dtype)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self._features_of(x.shape[1:])
        scale = self.scale_factor(x.dtype)
        if training:
            self._scale = scale
        y = np.subtract(x, self.state["mean"].astype(x.dtype, copy=False))
        y *= scale
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        if self._scale is None:
            raise RuntimeError("Standardize.backward called before forward(x, training=True)")
        return grad_output * self._scale
