"""The fully connected layer: ``y = x @ weights + bias`` over the last axis."""

from __future__ import annotations

from typing import Any, ClassVar

import attrs
import numpy as np

from nnframe.checks.arguments import boolean, optional_positive_int, to_int
from nnframe.core.contracts import Layer, Shape
from nnframe.core.contracts.config import config_of
from nnframe.core.contracts.initializer import check_init, initialize
from nnframe.errors import ShapeError
from nnframe.speed import parallel


@attrs.define(eq=False)
class Dense(Layer):
    """Fully connected layer: y = x @ weights + bias (the seed's FCLayer).

    ``input_size`` may be left out; it is then inferred when the network is built.
    ``weights`` has shape (input_size, output_size), ``bias`` (output_size,).
    ``use_bias=False`` leaves the bias out: y = x @ weights (PyTorch's ``bias=False``).
    """

    #: How `nnframe check` builds it: samples with two axes exercise the reshape.
    check_hints: ClassVar[dict] = {"config": {"output_size": 3}, "input_shape": (2, 4)}

    input_size: int | None = attrs.field(
        default=None, converter=to_int, validator=optional_positive_int
    )
    output_size: int | None = attrs.field(
        default=None, converter=to_int, validator=optional_positive_int
    )
    init: str = attrs.field(default="glorot_uniform", validator=check_init)
    use_bias: bool = attrs.field(default=True, kw_only=True, validator=boolean)
    _input: np.ndarray | None = attrs.field(init=False, default=None, repr=False)

    def __attrs_post_init__(self) -> None:
        if self.output_size is None:
            raise ShapeError(
                "Dense needs output_size: Dense(input_size, output_size) or "
                "Dense(output_size=N) to infer the input size"
            )

    def output_shape(self, input_shape: Shape) -> Shape:
        self._check_input(input_shape)
        return (*tuple(input_shape)[:-1], self.output_size)

    def parameter_shapes(self, input_shape: Shape) -> dict[str, tuple[int, ...]]:
        """``weights`` (input size, output_size) and ``bias`` (output_size,), unbuilt."""
        self._check_input(input_shape)
        shapes = {"weights": (int(input_shape[-1]), self.output_size)}
        if self.use_bias:
            shapes["bias"] = (self.output_size,)
        return shapes

    def build(self, input_shape: Shape, rng: np.random.Generator, dtype: np.dtype) -> None:
        self._check_input(input_shape)
        fan_in = int(input_shape[-1])
        self.input_size = fan_in
        shape = (fan_in, self.output_size)
        weights = initialize(self.init, shape, fan_in, self.output_size, rng, dtype)
        # The seed drew its bias like its weights; every other scheme starts at zero.
        bias_init = "seed_uniform" if self.init == "seed_uniform" else "zeros"
        self.params = {"weights": weights}
        if self.use_bias:
            self.params["bias"] = initialize(bias_init, (self.output_size,), fan_in,
                                             self.output_size, rng, dtype)
        self.grads = {name: np.zeros_like(value) for name, value in self.params.items()}

    def _check_input(self, input_shape: Shape) -> None:
        if len(input_shape) == 0:
            raise ShapeError("expects samples with at least one axis (features), got scalars")
        if self.input_size is not None and input_shape[-1] != self.input_size:
            raise ShapeError(
                f"expected input of size {self.input_size}, got {input_shape[-1]} "
                f"(sample shape {tuple(input_shape)}); change input_size or the data"
            )

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if training:
            self._input = x
        y = x @ self.params["weights"]  # y = x W + b
        if self.use_bias:
            parallel.add_rows(y, self.params["bias"])  # over the cores when y is large
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        self.backward_parameters(grad_output)
        return grad_output @ self.params["weights"].T

    def backward_parameters(self, grad_output: np.ndarray) -> None:
        """dE/dweights = x^T dE/dy and dE/dbias = sum of dE/dy over the batch.

        For one sample x^T dE/dy is an outer product: BLAS's GEMM with k = 1 runs it 3-4x
        slower than `np.multiply` into the gradient buffer (OpenBLAS, one thread, widths
        256-4096: 75 against 19 us at 256, 19.8 against 4.4 ms at 4096; CPU time,
        `python -m benchmarks.kernels`), and with one term per element both give the
        same floats."""
        x = self._input
        if x is None:
            raise RuntimeError("Dense.backward called before forward(x, training=True)")
        weights = self.params["weights"]
        x2 = x.reshape(-1, weights.shape[0])
        g2 = grad_output.reshape(-1, weights.shape[1])
        if x2.shape[0] == 1:  # one sample: an outer product, the same numbers 3-4x faster
            np.multiply(x2.reshape(-1, 1), g2, out=self.grads["weights"])
        else:
            np.matmul(x2.T, g2, out=self.grads["weights"])
        if self.use_bias:
            g2.sum(axis=0, out=self.grads["bias"])  # the method: no Python wrapper

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments; ``use_bias`` only when false, so that configs read
        as they did before it existed."""
        return config_of(self, omit_defaults=("use_bias",))
