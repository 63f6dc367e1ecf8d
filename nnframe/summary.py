"""`Network.summary`: a Keras-style table of layers, output shapes and parameter counts.

Composite layers (those holding ``layers`` or ``branches``, or listing ``inner_layers()``)
are followed by their inner layers, indented, so the table shows every layer that computes
something.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from nnframe.core.registry import children, component_name

if TYPE_CHECKING:
    from nnframe.core.network import Network


@attrs.frozen
class SummaryRow:
    """One layer of the table: where it is (``3`` or ``3.1``), its name and its numbers."""

    key: str
    depth: int
    name: str
    output_shape: tuple[int, ...] | None
    params: int | None
    state: int | None


def summary_rows(network: Network) -> list[SummaryRow]:
    """Every layer (and every inner layer of a composite), in order."""
    rows: list[SummaryRow] = []
    shape = network.input_shape
    for index, layer in enumerate(network.layers):
        rows += _rows(str(index), 0, layer, shape)
        shape = None if shape is None else tuple(layer.output_shape(shape))
    return rows


def _rows(key: str, depth: int, layer: Any, shape: tuple[int, ...] | None
          ) -> Iterator[SummaryRow]:
    output = None if shape is None else tuple(layer.output_shape(shape))
    built = shape is not None
    params = _count(layer.params) if built else None
    state = _count(getattr(layer, "state", {})) if built else None
    yield SummaryRow(key, depth, component_name("layer", layer), output, params, state)
    inner_shape = shape
    start = getattr(layer, "inner_input_shape", None)  # where the inner layers begin
    if start is not None and shape is not None:
        inner_shape = tuple(start(shape))
    previous_branch = None
    for child_key, child in children(layer):
        branch = child_key.split(".")[0] if "." in child_key else None
        if branch != previous_branch:  # every branch starts from the composite's input
            inner_shape, previous_branch = shape, branch
        yield from _rows(f"{key}.{child_key}", depth + 1, child, inner_shape)
        if inner_shape is not None:
            inner_shape = tuple(child.output_shape(inner_shape))


def _count(arrays: dict[str, Any]) -> int:
    return int(sum(np.size(value) for value in arrays.values()))


def summary_lines(network: Network) -> list[str]:
    """The lines `Network.summary` prints."""
    rows = summary_rows(network)
    header = ("#", "layer", "output shape", "params")
    cells = [
        (row.key, "  " * row.depth + row.name,
         "?" if row.output_shape is None else str((None, *row.output_shape)),
         "?" if row.params is None else _number(row.params, row.state, row.depth))
        for row in rows
    ]
    widths = [max(len(r[c]) for r in [header, *cells]) for c in range(4)]
    line = "  ".join(f"{{:<{w}}}" for w in widths[:3]) + f"  {{:>{widths[3]}}}"
    rule = "-" * (sum(widths) + 6)
    input_shape = "not built" if not network.built else str((None, *network.input_shape))
    lines = [f"Network: {len(network.layers)} layers, {network.dtype}, input {input_shape}",
             line.format(*header), rule, *(line.format(*row) for row in cells), rule]
    if network.built:
        trainable, frozen = network.count_params(), network.count_state()
        lines.append(f"Total params: {trainable + frozen:,}")
        lines.append(f"Trainable params: {trainable:,}")
        lines.append(f"Non-trainable params: {frozen:,}")
    else:
        lines.append("Total params: ?")
    return lines


def _number(params: int, state: int | None, depth: int) -> str:
    text = f"{params:,}"
    if state:
        text += f" (+{state:,})"
    return f"({text})" if depth else text
