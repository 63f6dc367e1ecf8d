"""ONNX converters for the attention layers (``nnframe export``), in standard operators of
opset 17: MatMul, Add, Reshape, Transpose and Softmax, nothing from a contrib domain.

- Attention: each head's queries, keys and values from the blocks of ``in_weights`` (the
  1/sqrt(D) scale folded into the query block), scores by MatMul, masks as an additive
  bias of -1e30 before Softmax and a product with the allowed pairs after it (so that a
  query with no key to look at gives zeros, as the layer does), then the output
  projection. The sequence length is fixed by the network's input shape; the batch axis
  stays dynamic.
- The padding mask is the input's last channel: sliced off, turned into the allowed pairs,
  and concatenated back onto the output.
- transformer_encoder converts its dense, layer_norm and activation layers through their
  own converters; positions add a constant table; sequence_pool is a MatMul with the weight
  of each step (CumSum finds the first and last real steps).

Nothing here imports onnx at import time.
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import numpy as np

import nnframe

#: What a blocked score becomes before the softmax (finite, so rows stay defined).
BLOCKED = -1e30


def _split_mask(layer: Any, x: str, graph: Any) -> tuple[str, str | None]:
    """(features, keep) tensors: keep (N, time, 1) is 1.0 for a real step, else 0.0."""
    if not layer.padding_mask:
        return x, None
    _, channels = graph.sample_shape(x)
    features = channels - 1

    def axis_slice(start: int, end: int) -> str:
        return graph.node("Slice", [x, graph.constant(np.array([start]), "start"),
                                    graph.constant(np.array([end]), "end"),
                                    graph.constant(np.array([2]), "axis")])

    mask = axis_slice(features, features + 1)
    real = graph.node("Greater", [mask, graph.constant(np.array(0.5, np.float32), "half")])
    from onnx import TensorProto

    return axis_slice(0, features), graph.node("Cast", [real], to=TensorProto.FLOAT)


def _with_mask(y: str, x: str, layer: Any, graph: Any) -> str:
    if not layer.padding_mask:
        return y
    _, channels = graph.sample_shape(x)
    mask = graph.node("Slice", [x, graph.constant(np.array([channels - 1]), "start"),
                                graph.constant(np.array([channels]), "end"),
                                graph.constant(np.array([2]), "axis")])
    return graph.node("Concat", [y, mask], axis=-1)


def _shape(graph: Any, dims: list[int]) -> str:
    return graph.constant(np.array(dims, dtype=np.int64), "shape")


def attention_nodes(layer: Any, x: str, keep: str | None, time: int, graph: Any) -> str:
    """The nodes of ``layer`` (a built multi_head_attention) on features ``x`` (N, time,
    F), ``keep`` (N, time, 1) or None."""
    params = layer.params
    f = params["out_weights"].shape[0]
    heads = int(layer.num_heads)
    depth = f // heads
    scale = 1.0 / math.sqrt(depth)

    def heads_of(block: int, perm: list[int], factor: float = 1.0) -> str:
        columns = slice(block * f, (block + 1) * f)
        weights = graph.constant(params["in_weights"][:, columns] * factor, "in_weights")
        bias = graph.constant(params["in_bias"][columns] * factor, "in_bias")
        projected = graph.node("Add", [graph.node("MatMul", [x, weights]), bias])
        split = graph.node("Reshape", [projected, _shape(graph, [0, time, heads, depth])])
        return graph.node("Transpose", [split], perm=perm)

    queries = heads_of(0, [0, 2, 1, 3], scale)  # (N, H, time, D)
    keys = heads_of(1, [0, 2, 3, 1])  # (N, H, D, time)
    values = heads_of(2, [0, 2, 1, 3])
    scores = graph.node("MatMul", [queries, keys])  # (N, H, time, time)
    allowed = None
    if layer.causal:
        allowed = graph.constant(np.tril(np.ones((time, time), np.float32)), "causal")
    if keep is not None:
        columns = graph.node("Reshape", [keep, _shape(graph, [0, 1, 1, time])])
        allowed = columns if allowed is None else graph.node("Mul", [columns, allowed])
    if allowed is not None:
        blocked = graph.node("Sub", [graph.constant(np.array(1.0, np.float32), "one"),
                                     allowed])
        bias = graph.node("Mul", [blocked, graph.constant(np.array(BLOCKED, np.float32),
                                                          "blocked")])
        scores = graph.node("Add", [scores, bias])
    probs = graph.node("Softmax", [scores], axis=-1)
    if allowed is not None:
        probs = graph.node("Mul", [probs, allowed])
    context = graph.node("Transpose", [graph.node("MatMul", [probs, values])],
                         perm=[0, 2, 1, 3])
    merged = graph.node("Reshape", [context, _shape(graph, [0, time, f])])
    projected = graph.node("MatMul", [merged, graph.constant(params["out_weights"],
                                                             "out_weights")])
    return graph.node("Add", [projected, graph.constant(params["out_bias"], "out_bias")])


@attrs.define(eq=False)
class MultiHeadAttentionConverter(nnframe.Converter):
    """Converts multi_head_attention (see the module's docstring)."""

    def convert(self, layer: Any, x: str, graph: Any) -> str:
        time = graph.sample_shape(x)[0]
        features, keep = _split_mask(layer, x, graph)
        return _with_mask(attention_nodes(layer, features, keep, time, graph), x, layer, graph)


@attrs.define(eq=False)
class TransformerEncoderConverter(nnframe.Converter):
    """Converts transformer_encoder: attention as above, its dense, layer_norm and
    activation layers by their own converters, residual Adds; dropout is the identity."""

    def convert(self, layer: Any, x: str, graph: Any) -> str:
        time = graph.sample_shape(x)[0]
        values, keep = _split_mask(layer, x, graph)

        def attend(h: str) -> str:
            return attention_nodes(layer.attention, h, keep, time, graph)

        def feedforward(h: str) -> str:
            hidden = graph.convert(layer.linear1, h, "inner layer linear1")
            hidden = graph.convert(layer.activation_layer, hidden, "inner layer activation")
            return graph.convert(layer.linear2, hidden, "inner layer linear2")

        def norm(which: str, h: str) -> str:
            return graph.convert(getattr(layer, which), h, f"inner layer {which}")

        if layer.norm_first:
            h = graph.node("Add", [values, attend(norm("norm1", values))])
            y = graph.node("Add", [h, feedforward(norm("norm2", h))])
        else:
            h = norm("norm1", graph.node("Add", [values, attend(values)]))
            y = norm("norm2", graph.node("Add", [h, feedforward(h)]))
        return _with_mask(y, x, layer, graph)


@attrs.define(eq=False)
class PositionsConverter(nnframe.Converter):
    """Converts positional_embedding and sinusoidal_position: Add of a constant (time, F)
    table (with a zero column for the mask channel)."""

    def convert(self, layer: Any, x: str, graph: Any) -> str:
        time, channels = graph.sample_shape(x)
        features = channels - 1 if layer.padding_mask else channels
        dtype = np.float64
        table = np.zeros((time, channels), dtype)
        table[:, :features] = layer.table(time, features, dtype)
        return graph.node("Add", [x, graph.constant(table, "positions")])


@attrs.define(eq=False)
class SequencePoolConverter(nnframe.Converter):
    """Converts sequence_pool: the weight of each step (N, 1, time) times the sequence."""

    def convert(self, layer: Any, x: str, graph: Any) -> str:
        time, channels = graph.sample_shape(x)
        features, keep = _split_mask(layer, x, graph)
        width = channels - 1 if layer.padding_mask else channels
        if keep is None:
            weights = np.zeros((1, time), np.float32)
            if layer.mode == "mean":
                weights[:] = 1.0 / time
            else:
                weights[0, 0 if layer.mode == "first" else -1] = 1.0
            step_weights = graph.constant(weights, "step_weights")
        else:
            row = graph.node("Transpose", [keep], perm=[0, 2, 1])  # (N, 1, time)
            if layer.mode == "mean":
                count = graph.node("ReduceSum", [row, graph.constant(np.array([2]), "axis")],
                                   keepdims=1)
                count = graph.node("Max", [count, graph.constant(np.array(1.0, np.float32),
                                                                 "one")])
                step_weights = graph.node("Div", [row, count])
            else:
                running = graph.node("CumSum", [row, graph.constant(np.array(2), "axis")],
                                     reverse=int(layer.mode == "last"))
                first = graph.node("Equal", [running, graph.constant(np.array(1.0, np.float32),
                                                                     "one")])
                from onnx import TensorProto

                step_weights = graph.node("Mul", [row, graph.node("Cast", [first],
                                                                  to=TensorProto.FLOAT)])
        pooled = graph.node("MatMul", [step_weights, features])  # (N, 1, F)
        return graph.node("Reshape", [pooled, _shape(graph, [-1, width])])
