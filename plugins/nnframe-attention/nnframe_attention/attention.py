"""``multi_head_attention``: multi-head scaled dot-product self-attention over (N, time, F).

With q, k, v = x W_q + b_q, x W_k + b_k, x W_v + b_v split into H heads of D = F / H
features, each head computes softmax(q k^T / sqrt(D) + mask) v; the heads are joined and
projected, y = heads W_o + b_o. Parameters follow PyTorch's ``nn.MultiheadAttention``,
transposed as ``dense`` is: ``in_weights`` (F, 3F) = ``in_proj_weight.T`` (query, key and
value blocks in that order), ``in_bias`` (3F,), ``out_weights`` (F, F) =
``out_proj.weight.T``, ``out_bias`` (F,).

Forward and backward run on (N, H, time, time) arrays, every head of every sample in one
batched matrix product: no Python loop over heads or time.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import attrs
import numpy as np

import nnframe
from nnframe.checks.arguments import positive_int, to_float, to_int, unit_interval
from nnframe_attention.sequences import (
    batch_shape,
    check_bool,
    grad_with_mask,
    sample_shape,
    split_mask,
    with_mask,
)


@attrs.define(eq=False)
class _Pass:
    """What backward needs from one training forward."""

    x: np.ndarray  # (N * time, F), the input features
    qkv: np.ndarray  # (3, N, H, time, D): queries, keys, values
    probs: np.ndarray  # (N, H, time, time): the softmax
    weights: np.ndarray  # probs after dropout (probs itself without)
    keep: np.ndarray | None  # (N, H, time, time) dropout's scaled mask, or None
    merged: np.ndarray  # (N * time, F): the heads joined, before the output projection


def disallowed(time: int, keep: np.ndarray | None, causal: bool) -> np.ndarray | None:
    """Where a query may not look, as a boolean array broadcasting to (N, H, time, time):
    later steps (causal) and padding keys; None when every pair is allowed."""
    blocked = None
    if causal:
        blocked = np.triu(np.ones((time, time), dtype=bool), k=1)
    if keep is not None:
        padding = ~keep[:, None, None, :]
        blocked = padding if blocked is None else blocked | padding
    return blocked


def softmax_rows(scores: np.ndarray, blocked: np.ndarray | None) -> np.ndarray:
    """Softmax over the last axis, in place, with ``blocked`` entries exactly zero. A row
    whose every entry is blocked (a sample that is all padding) gives zeros, not NaN."""
    if blocked is not None:
        np.copyto(scores, -np.inf, where=blocked)
    top = scores.max(axis=-1, keepdims=True)
    if blocked is not None:
        top[~np.isfinite(top)] = 0.0
    scores -= top
    np.exp(scores, out=scores)
    total = scores.sum(axis=-1, keepdims=True)
    if blocked is not None:
        total[total == 0.0] = 1.0
    scores /= total
    return scores


@attrs.define(eq=False)
class MultiHeadAttention(nnframe.Layer):
    """Multi-head self-attention, (N, time, F) -> (N, time, F), as PyTorch's
    ``nn.MultiheadAttention(F, num_heads, dropout, batch_first=True)`` called as
    ``attn(x, x, x)``.

    ``dropout`` drops attention weights in training; ``causal`` lets each step attend to
    itself and earlier steps only; ``padding_mask`` reads the input's last channel as the
    padding mask (1 real, 0 padding: padding steps are never attended to) and passes it on.
    """

    layer_name: ClassVar[str] = "multi_head_attention"
    #: How `nnframe check` builds it: two heads, several steps, causal.
    check_hints: ClassVar[dict] = {"config": {"num_heads": 2, "causal": True},
                                   "input_shape": (5, 4)}

    num_heads: int = attrs.field(converter=to_int, validator=positive_int)
    dropout: float = attrs.field(default=0.0, converter=to_float, validator=unit_interval)
    causal: bool = attrs.field(default=False, validator=check_bool)
    padding_mask: bool = attrs.field(default=False, validator=check_bool)
    features: int | None = attrs.field(init=False, default=None)
    _rng: np.random.Generator | None = attrs.field(init=False, default=None, repr=False)
    _pass: _Pass | None = attrs.field(init=False, default=None, repr=False)

    # -- shapes and parameters -----------------------------------------------------------

    def _features(self, input_shape: tuple[int, ...]) -> tuple[int, int]:
        time, features = sample_shape(self.layer_name, input_shape, self.padding_mask)
        if self.features is not None and features != self.features:
            raise nnframe.ShapeError(
                f"{self.layer_name} was built for {self.features} features per step, got "
                f"{features}; change the layer before it or the data")
        if features % self.num_heads:
            raise nnframe.ShapeError(
                f"{self.layer_name}: {features} features do not split into {self.num_heads} "
                f"heads; make the features a multiple of num_heads")
        return time, features

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        self._features(input_shape)
        return tuple(int(s) for s in input_shape)

    def parameter_shapes(self, input_shape: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
        """``in_weights`` (F, 3F), ``in_bias`` (3F,), ``out_weights`` (F, F), ``out_bias``
        (F,)."""
        _, f = self._features(input_shape)
        return {"in_weights": (f, 3 * f), "in_bias": (3 * f,), "out_weights": (f, f),
                "out_bias": (f,)}

    def build(self, input_shape: tuple[int, ...], rng: np.random.Generator,
              dtype: np.dtype) -> None:
        """PyTorch's initialisation: ``in_weights`` Xavier-uniform over (F, 3F),
        ``out_weights`` U(-1/sqrt(F), 1/sqrt(F)), both biases zero."""
        self.features = None
        _, f = self._features(input_shape)
        bound_in = math.sqrt(6.0 / (f + 3 * f))
        bound_out = 1.0 / math.sqrt(f)
        self.params = {
            "in_weights": rng.uniform(-bound_in, bound_in, (f, 3 * f)).astype(dtype),
            "in_bias": np.zeros(3 * f, dtype),
            "out_weights": rng.uniform(-bound_out, bound_out, (f, f)).astype(dtype),
            "out_bias": np.zeros(f, dtype),
        }
        self.grads = {name: np.zeros_like(value) for name, value in self.params.items()}
        self.features = f
        self._rng = rng
        self._pass = None

    # -- forward and backward ------------------------------------------------------------

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        batch_shape(self.layer_name, x)
        self._features(x.shape[1:])
        values, keep = split_mask(x, self.padding_mask)
        return with_mask(self.attend(values, keep, training), x, self.padding_mask)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        grad = grad_output[..., :-1] if self.padding_mask else grad_output
        return grad_with_mask(self.attend_backward(grad), grad_output, self.padding_mask)

    def attend(self, x: np.ndarray, keep: np.ndarray | None, training: bool) -> np.ndarray:
        """Self-attention of features ``x`` (N, time, F), ``keep`` (N, time) true for real
        steps or None; what a composite (transformer_encoder) calls with its own mask."""
        if self.features is None:
            raise nnframe.NetworkStateError(
                f"{self.layer_name} is not built: call build((time, features), rng, dtype) "
                "or put it in a Network")
        n, time, f = x.shape
        heads = self.num_heads
        depth = f // heads
        dtype = self.params["in_weights"].dtype
        flat = np.ascontiguousarray(x.reshape(n * time, f), dtype=dtype)
        projected = flat @ self.params["in_weights"]
        projected += self.params["in_bias"]
        # (N * time, 3F) -> (3, N, H, time, D): queries, keys, values per head
        qkv = projected.reshape(n, time, 3, heads, depth).transpose(2, 0, 3, 1, 4)
        q, k, v = qkv
        scores = np.matmul(q, k.transpose(0, 1, 3, 2))
        scores *= 1.0 / math.sqrt(depth)
        probs = softmax_rows(scores, disallowed(time, keep, self.causal))
        weights, dropped = probs, None
        if training and self.dropout > 0.0:
            if self._rng is None:
                raise RuntimeError("multi_head_attention needs build() before training")
            dropped = self._rng.random(probs.shape, dtype=dtype)
            np.greater_equal(dropped, self.dropout, out=dropped, casting="unsafe")
            dropped *= 1.0 / (1.0 - self.dropout)
            weights = probs * dropped
        context = np.matmul(weights, v)  # (N, H, time, D)
        merged = context.transpose(0, 2, 1, 3).reshape(n * time, f)
        y = merged @ self.params["out_weights"]
        y += self.params["out_bias"]
        if training:
            self._pass = _Pass(flat, qkv, probs, weights, dropped, merged)
        return y.reshape(n, time, f)

    def attend_backward(self, grad_output: np.ndarray) -> np.ndarray:
        """Fill ``grads`` from dE/dY (N, time, F); return dE/dX of the features."""
        cache = self._pass
        if cache is None:
            raise RuntimeError("MultiHeadAttention.backward called before "
                               "forward(x, training=True)")
        n, heads, time, depth = cache.qkv.shape[1:]
        f = heads * depth
        if tuple(grad_output.shape) != (n, time, f):
            raise nnframe.ShapeError(
                f"{self.layer_name}: the gradient of its output has shape "
                f"{tuple(grad_output.shape)}, expected {(n, time, f)} as forward returned")
        grad = grad_output.reshape(n * time, f)
        np.matmul(cache.merged.T, grad, out=self.grads["out_weights"])
        grad.sum(axis=0, out=self.grads["out_bias"])
        grad_context = (grad @ self.params["out_weights"].T).reshape(
            n, time, heads, depth).transpose(0, 2, 1, 3)
        q, k, v = cache.qkv
        grad_qkv = np.empty((n, time, 3, heads, depth), dtype=grad.dtype)
        grad_q, grad_k, grad_v = grad_qkv.transpose(2, 0, 3, 1, 4)  # views into grad_qkv
        np.matmul(cache.weights.transpose(0, 1, 3, 2), grad_context, out=grad_v)
        grad_scores = np.matmul(grad_context, v.transpose(0, 1, 3, 2))  # dE/dweights
        if cache.keep is not None:
            grad_scores *= cache.keep
        # softmax: dE/ds = p * (dE/dp - sum(dE/dp * p)) over each row
        row = np.einsum("nhij,nhij->nhi", grad_scores, cache.probs)
        grad_scores -= row[..., None]
        grad_scores *= cache.probs
        grad_scores *= 1.0 / math.sqrt(depth)
        np.matmul(grad_scores, k, out=grad_q)
        np.matmul(grad_scores.transpose(0, 1, 3, 2), q, out=grad_k)
        flat_grad = grad_qkv.reshape(n * time, 3 * f)
        np.matmul(cache.x.T, flat_grad, out=self.grads["in_weights"])
        flat_grad.sum(axis=0, out=self.grads["in_bias"])
        return (flat_grad @ self.params["in_weights"].T).reshape(n, time, f)

    def get_config(self) -> dict[str, Any]:
        return {"num_heads": self.num_heads, "dropout": self.dropout, "causal": self.causal,
                "padding_mask": self.padding_mask}
