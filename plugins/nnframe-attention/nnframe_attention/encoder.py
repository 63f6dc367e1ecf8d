"""``transformer_encoder``: one encoder block, PyTorch's ``nn.TransformerEncoderLayer``
(``batch_first=True``) with its defaults.

Post-norm (``norm_first=False``, PyTorch's default):
    h = norm1(x + dropout1(attention(x)))
    y = norm2(h + dropout2(linear2(dropout(activation(linear1(h))))))
Pre-norm (``norm_first=True``, GPT-2's and nanoGPT's order):
    h = x + dropout1(attention(norm1(x)))
    y = h + dropout2(linear2(dropout(activation(linear1(norm2(h))))))

It is a composite: its inner layers are built from its own config and reachable as the
attributes ``attention``, ``linear1``, ``linear2``, ``norm1`` and ``norm2``; its
``params``, ``grads`` and ``state`` hold theirs under ``"attention.in_weights"``,
``"linear1.weights"``, ... (`inner_layers` lists them, so that ``summary`` shows them).
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs
import numpy as np

import nnframe
from nnframe.checks.arguments import (
    one_of,
    positive_float,
    positive_int,
    to_float,
    to_int,
    unit_interval,
)
from nnframe.layers.nested import NestedArrays
from nnframe_attention.sequences import (
    batch_shape,
    check_bool,
    grad_with_mask,
    sample_shape,
    split_mask,
    with_mask,
)

#: The inner layers with parameters, in PyTorch's ``named_parameters`` order.
INNER = ("attention", "linear1", "linear2", "norm1", "norm2")


@attrs.define(eq=False)
class TransformerEncoder:
    """A transformer encoder block over (N, time, F): self-attention and a feed-forward
    network of ``feedforward_size`` hidden units, each with a residual connection, layer
    normalisation and dropout; ``padding_mask`` reads the input's last channel as the mask
    (see `nnframe_attention.sequences`) and passes it on; ``causal`` lets each step attend
    to itself and earlier steps only (PyTorch's ``is_causal`` with the causal ``src_mask``,
    for language models)."""

    layer_name: ClassVar[str] = "transformer_encoder"
    #: How `nnframe check` builds it: dropout on, so the masks are checked too.
    check_hints: ClassVar[dict] = {
        "config": {"num_heads": 2, "feedforward_size": 6, "dropout": 0.1},
        "input_shape": (3, 4)}

    num_heads: int = attrs.field(converter=to_int, validator=positive_int)
    feedforward_size: int = attrs.field(converter=to_int, validator=positive_int)
    dropout: float = attrs.field(default=0.1, converter=to_float, validator=unit_interval)
    activation: str = attrs.field(default="relu", validator=one_of("relu", "gelu"))
    norm_first: bool = attrs.field(default=False, validator=check_bool)
    eps: float = attrs.field(default=1e-5, converter=to_float, validator=positive_float)
    padding_mask: bool = attrs.field(default=False, validator=check_bool)
    causal: bool = attrs.field(default=False, validator=check_bool)
    attention: Any = attrs.field(init=False, repr=False)
    linear1: Any = attrs.field(init=False, repr=False)
    linear2: Any = attrs.field(init=False, repr=False)
    norm1: Any = attrs.field(init=False, repr=False)
    norm2: Any = attrs.field(init=False, repr=False)
    _act: Any = attrs.field(init=False, repr=False)
    _drops: tuple[Any, Any, Any] = attrs.field(init=False, repr=False)
    _keep: np.ndarray | None = attrs.field(init=False, default=None, repr=False)

    def __attrs_post_init__(self) -> None:
        layer = nnframe.layer
        self.attention = layer("multi_head_attention", self.num_heads, dropout=self.dropout,
                               causal=self.causal)
        # PyTorch's nn.Linear draws its weights from U(-1/sqrt(fan_in), 1/sqrt(fan_in))
        self.linear1 = layer("dense", output_size=self.feedforward_size, init="fan_in_uniform")
        self.linear2 = None  # its output size is the input's features: made by build
        self.norm1 = layer("layer_norm", eps=self.eps)
        self.norm2 = layer("layer_norm", eps=self.eps)
        self._act = layer(self.activation)
        # dropout inside the feed-forward network, after attention, after feed-forward
        self._drops = tuple(layer("dropout", rate=self.dropout) for _ in range(3))

    # -- the composite's arrays ----------------------------------------------------------

    def inner_layers(self) -> list[tuple[str, Any]]:
        """(name, layer) for every inner layer with parameters, in the order a sequence's
        features meet them in ``summary`` (attention, linear1, linear2, norm1, norm2)."""
        return [(name, getattr(self, name)) for name in INNER
                if getattr(self, name) is not None]

    def inner_input_shape(self, input_shape: tuple[int, ...]) -> tuple[int, int]:
        """The shape the inner layers see: the features, without the mask channel."""
        return sample_shape(self.layer_name, input_shape, self.padding_mask)

    @property
    def activation_layer(self) -> Any:
        """The feed-forward network's activation (a relu or gelu layer, no parameters)."""
        return self._act

    @property
    def params(self) -> NestedArrays:
        return NestedArrays(self.inner_layers(), "params")

    @property
    def grads(self) -> NestedArrays:
        return NestedArrays(self.inner_layers(), "grads")

    @property
    def state(self) -> NestedArrays:
        return NestedArrays(self.inner_layers(), "state")

    # -- shapes --------------------------------------------------------------------------

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        self.attention.output_shape(self.inner_input_shape(input_shape))
        return tuple(int(s) for s in input_shape)

    def parameter_shapes(self, input_shape: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
        """The inner layers' parameters under ``"<name>.<key>"``."""
        time, features = self.inner_input_shape(input_shape)
        hidden = (time, self.feedforward_size)
        inputs = {"attention": (time, features), "linear1": (time, features),
                  "linear2": hidden, "norm1": (time, features), "norm2": (time, features)}
        shapes: dict[str, tuple[int, ...]] = {}
        for name in INNER:
            layer = getattr(self, name)
            if layer is None:  # linear2 before build
                layer = nnframe.layer("dense", output_size=features)
            own = layer.parameter_shapes(inputs[name])
            if own is None:
                return None  # type: ignore[return-value]
            shapes.update({f"{name}.{key}": tuple(value) for key, value in own.items()})
        return shapes

    def build(self, input_shape: tuple[int, ...], rng: np.random.Generator,
              dtype: np.dtype) -> None:
        time, features = self.inner_input_shape(input_shape)
        self.linear2 = nnframe.layer("dense", output_size=features, init="fan_in_uniform")
        self.attention.build((time, features), rng, dtype)
        self.linear1.build((time, features), rng, dtype)
        self.linear2.build((time, self.feedforward_size), rng, dtype)
        self.norm1.build((time, features), rng, dtype)
        self.norm2.build((time, features), rng, dtype)
        for drop in self._drops:
            drop.build((time, features), rng, dtype)

    # -- forward and backward ------------------------------------------------------------

    def _feedforward(self, x: np.ndarray, training: bool) -> np.ndarray:
        drop, _, drop2 = self._drops
        hidden = self._act.forward(self.linear1.forward(x, training), training)
        return drop2.forward(self.linear2.forward(drop.forward(hidden, training), training),
                             training)

    def _feedforward_backward(self, grad: np.ndarray) -> np.ndarray:
        drop, _, drop2 = self._drops
        grad = self.linear2.backward(drop2.backward(grad))
        return self.linear1.backward(self._act.backward(drop.backward(grad)))

    def _attend(self, x: np.ndarray, keep: np.ndarray | None, training: bool) -> np.ndarray:
        return self._drops[1].forward(self.attention.attend(x, keep, training), training)

    def _attend_backward(self, grad: np.ndarray) -> np.ndarray:
        return self.attention.attend_backward(self._drops[1].backward(grad))

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        batch_shape(self.layer_name, x)
        self.output_shape(x.shape[1:])
        if self.linear2 is None:
            raise nnframe.NetworkStateError(
                f"{self.layer_name} is not built: call build((time, features), rng, dtype) "
                "or put it in a Network")
        values, keep = split_mask(x, self.padding_mask)
        if self.norm_first:
            h = values + self._attend(self.norm1.forward(values, training), keep, training)
            y = h + self._feedforward(self.norm2.forward(h, training), training)
        else:
            h = self.norm1.forward(values + self._attend(values, keep, training), training)
            y = self.norm2.forward(h + self._feedforward(h, training), training)
        return with_mask(y, x, self.padding_mask)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        grad = grad_output[..., :-1] if self.padding_mask else grad_output
        if self.norm_first:
            grad_h = grad + self.norm2.backward(self._feedforward_backward(grad))
            grad_x = grad_h + self.norm1.backward(self._attend_backward(grad_h))
        else:
            grad_sum = self.norm2.backward(grad)
            grad_h = grad_sum + self._feedforward_backward(grad_sum)
            grad_sum = self.norm1.backward(grad_h)
            grad_x = grad_sum + self._attend_backward(grad_sum)
        return grad_with_mask(grad_x, grad_output, self.padding_mask)

    def get_config(self) -> dict[str, Any]:
        return {"num_heads": self.num_heads, "feedforward_size": self.feedforward_size,
                "dropout": self.dropout, "activation": self.activation,
                "norm_first": self.norm_first, "eps": self.eps,
                "padding_mask": self.padding_mask, "causal": self.causal}
