"""`export` and `to_model`: a built network as an ONNX model, checked, written atomically.

The graph is built layer by layer through the converters (`GraphBuilder.convert`), then
checked with ``onnx.checker.check_model(..., full_check=True)`` (which also infers every
shape) before a byte is written; the file is written beside its target and renamed into
place (`nnframe.modelfile.atomic`), so a failed export leaves nothing behind and an earlier file at
that path unchanged.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

from nnframe._version import __version__
from nnframe.errors import ExportError, NetworkStateError, NonFiniteWeightsWarning
from nnframe.modelfile.atomic import write_atomic
from nnframe.onnx import (
    BATCH_AXIS,
    DEFAULT_OPSET,
    INPUT_NAME,
    OUTPUT_NAME,
)
from nnframe.onnx.graph import require_onnx

if TYPE_CHECKING:
    import onnx

    from nnframe.core.network import Network


def to_model(network: Network, *, opset: int = DEFAULT_OPSET) -> onnx.ModelProto:
    """The ONNX model of a built network: input ``input`` and output ``output``, both
    float32 with a dynamic batch axis, nnframe's version and every layer's provider and
    converter in its metadata. Checked before it is returned.

    Raises `NetworkStateError` for a network that is not built, `ExportError` for a layer
    without a converter (naming it and its distribution) or a converter that fails, and
    `MissingExtraError` when onnx is not installed.
    """
    onnx = require_onnx()
    from onnx import TensorProto, helper

    from nnframe.onnx.graph import GraphBuilder

    newest = onnx.defs.onnx_opset_version()
    if isinstance(opset, bool) or not isinstance(opset, int) or not (
            DEFAULT_OPSET <= opset <= newest):
        raise ExportError(f"opset must be an integer from {DEFAULT_OPSET} to {newest} (the "
                          f"newest this onnx package knows), got {opset!r}")
    if not network.built:
        raise NetworkStateError("the network is not built, so it has no weights to "
                                "export; build(input_shape) or fit() it first")
    graph = GraphBuilder(opset)
    x = graph.add_input(INPUT_NAME, network.input_shape)
    for index, layer in enumerate(network.layers):
        x = graph.convert(layer, x, f"layer {index}")
    nodes, initializers = graph.finish(x, OUTPUT_NAME)
    input_shape, output_shape = network.input_shape, network.output_shape
    inputs = [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT,
                                            [BATCH_AXIS, *input_shape])]
    outputs = [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT,
                                             [BATCH_AXIS, *output_shape])]
    count = len(network.layers)
    description = (f"Exported by nnframe {__version__} from a {network.dtype.name} network "
                   f"of {count} layer{'s' if count != 1 else ''}: input {INPUT_NAME!r} "
                   f"({BATCH_AXIS}, {', '.join(map(str, input_shape))}), output "
                   f"{OUTPUT_NAME!r} ({BATCH_AXIS}, {', '.join(map(str, output_shape))}), "
                   "float32.")
    opsets = [helper.make_opsetid("", opset)]
    model = helper.make_model(
        helper.make_graph(nodes, "nnframe", inputs, outputs, initializer=initializers),
        opset_imports=opsets, producer_name="nnframe", producer_version=__version__,
        ir_version=helper.find_min_ir_version_for(opsets), doc_string=description)
    helper.set_model_props(model, _metadata(network, graph.converted))
    _check(onnx, model, graph.converted)
    return model


def export(network: Network, path: str | os.PathLike[str], *,
           opset: int = DEFAULT_OPSET) -> Path:
    """Write ``network`` to ``path`` as an ONNX model (see `to_model`), atomically, and
    return the path. A path that cannot be written is an `ExportError`; whatever was at
    ``path`` before is then unchanged. Weights or layer state holding NaN or infinity (a
    diverged run that was saved) are exported as they are, with a
    `NonFiniteWeightsWarning`: the exported model's outputs will not be finite."""
    data = to_model(network, opset=opset).SerializeToString()
    bad = [p.key for p in network.parameters() if not np.isfinite(p.value).all()]
    bad += [key for key, value in network.state().items()
            if np.asarray(value).dtype.kind == "f" and not np.isfinite(value).all()]
    if bad:
        warnings.warn(f"the weights {', '.join(bad[:3])}{' and more' if len(bad) > 3 else ''} "
                      "hold NaN or infinite values, so the exported model's outputs will not "
                      "be finite; retrain it, or export a checkpoint saved before training "
                      "diverged", NonFiniteWeightsWarning, stacklevel=2)
    try:
        return write_atomic(path, lambda file: file.write(data))
    except OSError as exc:
        raise ExportError(f"could not write {os.fspath(path)}: {exc.strerror or exc}; "
                          "nothing was written") from None


def _metadata(network: Network, converted: list[dict[str, Any]]) -> dict[str, str]:
    """``metadata_props``: strings, the structured ones as JSON."""
    distributions: dict[str, str | None] = {}

    def collect(entries: list[dict[str, Any]]) -> None:
        for entry in entries:
            distributions[entry["distribution"]] = entry["version"]
            distribution = entry["converter"].split(":", 1)[0]
            distributions[distribution] = entry["converter_version"]
            collect(entry.get("layers", []))

    collect(converted)
    return {
        "nnframe_version": __version__,
        "nnframe_dtype": network.dtype.name,
        "nnframe_input_shape": json.dumps(list(network.input_shape)),
        "nnframe_output_shape": json.dumps(list(network.output_shape)),
        "nnframe_layers": json.dumps(converted),
        "nnframe_distributions": json.dumps(distributions, sort_keys=True),
    }


def _check(onnx: ModuleType, model: onnx.ModelProto, converted: list[dict[str, Any]]) -> None:
    """`ExportError` when the model is not valid ONNX: a converter's bug, so name them."""
    try:
        onnx.checker.check_model(model, full_check=True)
    except Exception as exc:
        converters = sorted({entry["converter"] for entry in _walk(converted)})
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ExportError(f"the ONNX graph the converters made is not valid: {first} (the "
                          f"converters used: {', '.join(converters)}; please report it "
                          "to the distribution of the one at fault)") from exc


def _walk(entries: list[dict[str, Any]]):
    for entry in entries:
        yield entry
        yield from _walk(entry.get("layers", []))
