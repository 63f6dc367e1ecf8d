"""What the tracking callbacks report about a run: its settings as flat parameters, the
distributions that provided its components, and its steps.

TensorBoard's HParams view and MLflow's params both want a flat mapping of names to plain
values. The names are the paths of a TOML training config (``model.layers[1].output_size``,
``optimizer.learning_rate``, ``train.batch_size``), the same paths ``nnframe tune``
searches over, so a run logged from Python and one trained from a config read alike.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nnframe._version import __version__
from nnframe.errors import NNFrameError

if TYPE_CHECKING:
    from nnframe.core.network import Network

Scalar = str | int | float | bool


def run_params(network: Network, train: dict[str, Any] | None = None) -> dict[str, Scalar]:
    """The network's layers, loss and optimizer (registered names and configs) and the
    ``train`` settings, flattened to ``{"model.layers[0].type": "dense", ...}``."""
    params: dict[str, Scalar] = {"model.dtype": network.dtype.name}
    for index, layer in enumerate(network.layers):
        _flatten(params, f"model.layers[{index}]", _described("layer", layer))
    for kind in ("loss", "optimizer"):
        component = getattr(network, kind)
        if component is not None:
            _flatten(params, kind, _described(kind, component))
    for key, value in (train or {}).items():
        if value is not None:
            _flatten(params, f"train.{key}", value)
    return params


def run_tags(network: Network) -> dict[str, str]:
    """``nnframe.version`` and ``distribution.<name>``: the version of every distribution
    that provided one of the run's components (nnframe itself for the built-ins)."""
    tags = {"nnframe.version": __version__}
    found: dict[str, str] = {}
    entries = [_described("layer", layer) for layer in network.layers]
    entries += [_described(kind, getattr(network, kind)) for kind in ("loss", "optimizer")
                if getattr(network, kind) is not None]
    while entries:
        entry = entries.pop()
        if entry.get("distribution"):
            found[entry["distribution"]] = str(entry.get("version") or "")
        entries += entry.get("layers", [])
        for branch in entry.get("branches", []):
            entries += branch
    tags.update({f"distribution.{name}": found[name] for name in sorted(found)})
    return tags


def epoch_step(epoch: int) -> int:
    """The step of epoch ``epoch`` (counted from 0) in a tracking tool: the number of
    epochs trained by its end, so that a resumed run (which starts at ``network.epoch``)
    continues the numbering without a gap or a repeat."""
    return epoch + 1


def batch_step(epoch: int, batch: int, batches: int) -> int:
    """The step of a batch: the number of batches trained since the run began."""
    return epoch * batches + batch + 1


def _described(kind: str, component: Any) -> dict[str, Any]:
    """A component as a model file describes it; a component that is not registered
    (built from a class directly) is still reported, under its class name."""
    from nnframe.modelfile.save import describe, describe_layer

    try:
        if kind == "layer":
            return describe_layer(component, "a layer")
        return describe(kind, component, f"the {kind}")
    except NNFrameError:
        cls = type(component)
        return {"name": f"{cls.__module__}.{cls.__qualname__}", "config": {}}


def _flatten(params: dict[str, Scalar], prefix: str, value: Any) -> None:
    if isinstance(value, dict) and "name" in value and "config" in value:
        params[f"{prefix}.type"] = value["name"]
        _flatten(params, prefix, value["config"])
        for index, inner in enumerate(value.get("layers", [])):
            _flatten(params, f"{prefix}.layers[{index}]", inner)
        for b, branch in enumerate(value.get("branches", [])):
            for index, inner in enumerate(branch):
                _flatten(params, f"{prefix}.branches[{b}][{index}]", inner)
    elif isinstance(value, dict):
        for key, inner in value.items():
            _flatten(params, f"{prefix}.{key}", inner)
    elif isinstance(value, (bool, int, float, str)):
        params[prefix] = value
    elif value is not None:
        params[prefix] = str(value)  # lists (shapes, sizes): one readable value
