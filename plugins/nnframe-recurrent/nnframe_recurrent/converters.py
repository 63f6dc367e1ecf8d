"""ONNX converters for rnn, lstm and gru (``nnframe export``): ONNX's RNN, LSTM and GRU.

The layers keep PyTorch's layout; ONNX's operators differ in three ways, undone here:

- weights are stored transposed, one direction first: ``W`` (1, G * units, features),
  ``R`` (1, G * units, units), ``B`` (1, 2 * G * units) as the input bias then the
  recurrent one (rnn and lstm have one bias here: it goes first, zeros second);
- the gate blocks come in another order: lstm i, f, g, o here is i, o, f, c in ONNX; gru
  r, z, n here is z, r, h in ONNX (with ``linear_before_reset=1``, PyTorch's
  ``r * (h W_hn + b_hn)``);
- the sequence is time-major, (time, N, features), and the outputs are ``Y`` (time, 1, N,
  units) and ``Y_h`` (1, N, units).

Stacked recurrent layers (``return_sequences``) stay time-major between them: the graph
builder cancels the transposes back and forth. Nothing here imports onnx.
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs
import numpy as np

import nnframe

#: (N, time, features) <-> (time, N, features): its own inverse.
SWAP_BATCH_AND_TIME = (1, 0, 2)


def _reordered(array: np.ndarray, order: tuple[int, ...], units: int) -> np.ndarray:
    """``array`` (..., G * units) with its gate blocks of ``units`` columns in ONNX's
    ``order`` (indices of nnframe's blocks)."""
    return np.concatenate([array[..., k * units:(k + 1) * units] for k in order], axis=-1)


@attrs.define(eq=False)
class _RecurrentConverter(nnframe.Converter):
    op_type: ClassVar[str] = ""
    #: nnframe's gate blocks, in the order ONNX wants them
    order: ClassVar[tuple[int, ...]] = (0,)
    attributes: ClassVar[dict[str, Any]] = {}

    def biases(self, layer: Any) -> tuple[np.ndarray, np.ndarray]:
        """(input bias, recurrent bias), each (G * units,), in nnframe's gate order."""
        bias = layer.params["bias"]
        return bias, np.zeros_like(bias)

    def convert(self, layer: Any, x: str, graph: Any) -> str:
        units = int(layer.units)
        weights, recurrent = (_reordered(layer.params[name], self.order, units).T[None]
                              for name in ("input_weights", "recurrent_weights"))
        bias = np.concatenate([_reordered(b, self.order, units)
                               for b in self.biases(layer)])[None]
        steps = graph.transpose(x, SWAP_BATCH_AND_TIME)
        inputs = [steps, graph.constant(weights, "input_weights"),
                  graph.constant(recurrent, "recurrent_weights"), graph.constant(bias, "bias")]
        if layer.return_sequences:
            (states,) = graph.node(self.op_type, inputs, outputs=["states"],
                                   hidden_size=units, **self.attributes)
            states = graph.node("Squeeze", [states, graph.constant(np.array([1]), "axis")])
            return graph.transpose(states, SWAP_BATCH_AND_TIME)
        _, last = graph.node(self.op_type, inputs, outputs=[None, "last_state"],
                             hidden_size=units, **self.attributes)
        return graph.node("Squeeze", [last, graph.constant(np.array([0]), "axis")])


@attrs.define(eq=False)
class SimpleRNNConverter(_RecurrentConverter):
    """Converts rnn: ONNX RNN with tanh."""

    op_type: ClassVar[str] = "RNN"
    attributes: ClassVar[dict[str, Any]] = {"activations": ["Tanh"]}


@attrs.define(eq=False)
class LSTMConverter(_RecurrentConverter):
    """Converts lstm: ONNX LSTM, gates reordered from i, f, g, o to i, o, f, c."""

    op_type: ClassVar[str] = "LSTM"
    order: ClassVar[tuple[int, ...]] = (0, 3, 1, 2)


@attrs.define(eq=False)
class GRUConverter(_RecurrentConverter):
    """Converts gru: ONNX GRU with linear_before_reset, gates reordered from r, z, n to
    z, r, h."""

    op_type: ClassVar[str] = "GRU"
    order: ClassVar[tuple[int, ...]] = (1, 0, 2)
    attributes: ClassVar[dict[str, Any]] = {"linear_before_reset": 1}

    def biases(self, layer: Any) -> tuple[np.ndarray, np.ndarray]:
        return layer.params["input_bias"], layer.params["recurrent_bias"]
