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

A bidirectional layer is ONNX's ``direction="bidirectional"``: each array gets the reverse
direction's as a second entry, and the outputs' direction axis is folded into the features
(forward first, as here). A layer without bias leaves out ONNX's optional ``B``; learned
initial states become ``initial_h`` (and ``initial_c``), expanded to the batch.

Stacked recurrent layers (``return_sequences``) stay time-major between them: the graph
builder cancels the transposes back and forth. Nothing here imports onnx.
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs
import numpy as np

import nnframe
from nnframe_recurrent.recurrent import REVERSE

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

    def biases(self, layer: Any, prefix: str) -> tuple[np.ndarray, np.ndarray]:
        """(input bias, recurrent bias), each (G * units,), in nnframe's gate order."""
        bias = layer.params[f"{prefix}bias"]
        return bias, np.zeros_like(bias)

    def options(self, layer: Any, directions: int) -> dict[str, Any]:
        """The operator's attributes beyond hidden_size and direction."""
        return dict(self.attributes)

    @staticmethod
    def _initial_states(layer: Any, prefixes: list[str], steps: str, graph: Any) -> list[str]:
        """initial_h (and initial_c): each direction's learned vector, (directions, N,
        units) for the batch at hand."""
        batch = graph.node("Slice", [graph.node("Shape", [steps]),
                                     graph.constant(np.array([1]), "start"),
                                     graph.constant(np.array([2]), "end")])
        shape = graph.node("Concat", [graph.constant(np.array([len(prefixes)]), "directions"),
                                      batch, graph.constant(np.array([layer.units]), "units")],
                           axis=0)
        return [graph.node("Expand", [graph.constant(np.stack(
            [layer.params[prefix + key] for prefix in prefixes])[:, None], key), shape])
            for key in layer.initial_keys]

    def convert(self, layer: Any, x: str, graph: Any) -> str:
        units = int(layer.units)
        prefixes = ["", REVERSE] if layer.bidirectional else [""]

        def stacked(name: str) -> np.ndarray:  # (directions, G * units, rows)
            return np.stack([_reordered(layer.params[prefix + name], self.order, units).T
                             for prefix in prefixes])

        steps = graph.transpose(x, SWAP_BATCH_AND_TIME)
        inputs = [steps, graph.constant(stacked("input_weights"), "input_weights"),
                  graph.constant(stacked("recurrent_weights"), "recurrent_weights")]
        if layer.use_bias:
            bias = np.stack([np.concatenate([_reordered(b, self.order, units)
                                             for b in self.biases(layer, prefix)])
                             for prefix in prefixes])
            inputs.append(graph.constant(bias, "bias"))
        if layer.learned:
            inputs += [""] * (5 - len(inputs))  # no sequence_lens (and perhaps no B)
            inputs += self._initial_states(layer, prefixes, steps, graph)
        attributes = {"hidden_size": units, **self.options(layer, len(prefixes))}
        if layer.bidirectional:
            attributes["direction"] = "bidirectional"
        if layer.return_sequences:
            (states,) = graph.node(self.op_type, inputs, outputs=["states"], **attributes)
            if layer.bidirectional:  # (time, 2, N, units) -> (time, N, 2 * units)
                width = graph.constant(np.array([0, 0, -1]), "width")
                states = graph.node("Reshape", [graph.transpose(states, (0, 2, 1, 3)), width])
            else:
                states = graph.node("Squeeze", [states, graph.constant(np.array([1]), "axis")])
            return graph.transpose(states, SWAP_BATCH_AND_TIME)
        _, last = graph.node(self.op_type, inputs, outputs=[None, "last_state"], **attributes)
        if layer.bidirectional:  # (2, N, units) -> (N, 2 * units)
            width = graph.constant(np.array([0, -1]), "width")
            return graph.node("Reshape", [graph.transpose(last, (1, 0, 2)), width])
        return graph.node("Squeeze", [last, graph.constant(np.array([0]), "axis")])


@attrs.define(eq=False)
class SimpleRNNConverter(_RecurrentConverter):
    """Converts rnn: ONNX RNN with its tanh or relu, one per direction."""

    op_type: ClassVar[str] = "RNN"

    def options(self, layer: Any, directions: int) -> dict[str, Any]:
        activation = {"tanh": "Tanh", "relu": "Relu"}[layer.nonlinearity]
        return {"activations": [activation] * directions}


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

    def biases(self, layer: Any, prefix: str) -> tuple[np.ndarray, np.ndarray]:
        return layer.params[f"{prefix}input_bias"], layer.params[f"{prefix}recurrent_bias"]
