"""Weights to and from PyTorch's ``nn.RNN``, ``nn.LSTM`` and ``nn.GRU``, with NumPy alone.

Both keep the same gates in the same order with the same formulas; PyTorch stores each
matrix transposed, (G * units, features), and two biases, ``bias_ih`` and ``bias_hh``. The
rnn and lstm layers keep their sum as one ``bias``; the gru keeps both, since ``r``
multiplies the recurrent bias of ``n``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

import nnframe
from nnframe_recurrent.recurrent import REVERSE, Recurrent


def _directions(layer: Recurrent) -> list[tuple[str, str]]:
    """(nnframe's prefix, PyTorch's suffix) of each direction of the layer."""
    return [("", ""), (REVERSE, "_reverse")] if layer.bidirectional else [("", "")]


def to_torch_state_dict(layer: Recurrent, index: int = 0) -> dict[str, np.ndarray]:
    """A built layer's weights under PyTorch's names (``weight_ih_l0`` ...), as NumPy arrays.

    For rnn and lstm the whole bias goes to ``bias_ih_l{index}`` and ``bias_hh_l{index}`` is
    zero; a layer without bias has no bias entries, as PyTorch's ``bias=False``; the
    reverse direction of a bidirectional layer is under the ``_reverse`` names. ``index``
    is the layer number in a stacked PyTorch module (``num_layers``). Load with
    ``module.load_state_dict({k: torch.from_numpy(v) for k, v in d.items()})``.
    """
    _require_built(layer)
    params = layer.params
    state = {}
    for prefix, suffix in _directions(layer):
        end = f"_l{index}{suffix}"
        state[f"weight_ih{end}"] = params[f"{prefix}input_weights"].T.copy()
        state[f"weight_hh{end}"] = params[f"{prefix}recurrent_weights"].T.copy()
        if f"{prefix}bias" in params:
            state[f"bias_ih{end}"] = params[f"{prefix}bias"].copy()
            state[f"bias_hh{end}"] = np.zeros_like(params[f"{prefix}bias"])
        elif f"{prefix}input_bias" in params:
            state[f"bias_ih{end}"] = params[f"{prefix}input_bias"].copy()
            state[f"bias_hh{end}"] = params[f"{prefix}recurrent_bias"].copy()
    return state


def load_torch_state_dict(layer: Recurrent, state_dict: Mapping[str, Any], index: int = 0,
                          prefix: str = "") -> None:
    """Copy the weights of a PyTorch recurrent module into a built layer, in place.

    ``state_dict`` maps PyTorch's names to tensors or arrays: a module's ``state_dict()``,
    or a whole model's with ``prefix`` (``"encoder."`` for ``model.encoder``); ``index``
    picks the layer of a stacked module. The module must be bidirectional when the layer
    is, with ``batch_first=True`` when it runs on (N, time, features) as nnframe does; a
    module made with ``bias=False`` loads into a layer with bias as zero biases.
    """
    _require_built(layer)
    for direction, suffix in _directions(layer):
        _load_direction(layer, state_dict, direction, f"_l{index}{suffix}", prefix)


def _load_direction(layer: Recurrent, state_dict: Mapping[str, Any], direction: str,
                    end: str, prefix: str) -> None:
    def get(name: str, required: bool = True) -> np.ndarray | None:
        key = f"{prefix}{name}{end}"
        if key not in state_dict:
            if not required:
                return None
            known = ", ".join(sorted(state_dict)) or "none"
            raise nnframe.DataError(f"{layer.layer_name}: the state dict has no {key!r} "
                                    f"(its keys: {known})")
        return _numpy(state_dict[key])

    width = layer.gates * layer.units
    values = {"input_weights": _checked(layer, "weight_ih", get("weight_ih"),
                                        (width, layer.features)).T,
              "recurrent_weights": _checked(layer, "weight_hh", get("weight_hh"),
                                            (width, layer.units)).T}
    bias_ih, bias_hh = get("bias_ih", required=False), get("bias_hh", required=False)
    if not layer.use_bias:
        if any(b is not None and np.any(b) for b in (bias_ih, bias_hh)):
            raise nnframe.DataError(
                f"{layer.layer_name} has no bias (use_bias=False), but the state dict has "
                f"non-zero {prefix}bias_ih{end} / bias_hh{end}; build the layer with "
                "use_bias=True")
    else:
        bias_ih = np.zeros(width) if bias_ih is None else _checked(layer, "bias_ih", bias_ih,
                                                                   (width,))
        bias_hh = np.zeros(width) if bias_hh is None else _checked(layer, "bias_hh", bias_hh,
                                                                   (width,))
        if f"{direction}bias" in layer.params:
            values["bias"] = bias_ih.astype(np.float64) + bias_hh
        else:
            values["input_bias"], values["recurrent_bias"] = bias_ih, bias_hh
    for name, value in values.items():
        layer.params[direction + name][...] = value  # in place: a network's buffers stay bound


def _require_built(layer: Any) -> None:
    if not isinstance(layer, Recurrent):
        raise TypeError(f"expected an rnn, lstm or gru layer, got {type(layer).__name__}")
    if layer.features is None:
        raise nnframe.NetworkStateError(
            f"{layer.layer_name} is not built: build it (or its Network) first, so that its "
            "weights have their shapes")


def _numpy(value: Any) -> np.ndarray:
    """A NumPy array from an array or a tensor (detached and moved to the CPU)."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def _checked(layer: Recurrent, name: str, value: np.ndarray,
             shape: tuple[int, ...]) -> np.ndarray:
    if value.shape != shape:
        raise nnframe.ShapeError(
            f"{layer.layer_name}: PyTorch's {name} has shape {value.shape}, expected {shape} "
            f"for {layer.features} features and {layer.units} units; "
            "is it the same kind of layer, built for the same sizes?")
    return value
