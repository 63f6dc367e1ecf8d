"""The one table of component kinds: everything that can be registered by a plugin.

The registry, the hook specifications, the command line (``list``, ``show``, ``check``),
config files, model files and the plugin author's kit all read this table, so adding a
kind of component is one entry here, its contract (a `typing.Protocol`) and its hook in
`nnframe.core.hookspecs`. The members every component of a kind must have are read from
its contract's Protocol, never listed twice.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import textwrap

import attrs


@attrs.frozen
class Kind:
    """One kind of component: its names, its contract, and how the kit checks it (what
    it is: its hook's documentation in `nnframe.core.hookspecs`)."""

    name: str
    """Singular, as in ``nnframe.layer(...)`` and model files: ``"layer"``."""
    plural: str
    """As in the hook ``register_layers`` and ``nnframe list layers``."""
    example: str
    """A registered name to show in messages: ``"dense"``."""
    check: str | None = None
    """``"module:function"`` of the kit's check for this kind, or None: the kit's
    generic check (it builds, and its config rebuilds it)."""
    contract: str | None = None
    """``"module:Protocol"`` of the kind's contract, or None (kernels are functions)."""
    alternatives: bool = False
    """Whether plugins provide other versions of the core's names on purpose (kernels):
    then a name shared with the built-in is no conflict to warn about."""

    @property
    def members(self) -> tuple[str, ...]:
        """The members every component of this kind has (those its contract's Protocol
        declares), checked on every component a factory builds, so that a broken factory
        is named at once. Read on first use: listing components imports no contract."""
        if self.contract is None:
            return ()
        module, _, name = self.contract.partition(":")
        return protocol_members(getattr(importlib.import_module(module), name))

    @property
    def hook(self) -> str:
        """The name of the hook that registers this kind: ``register_layers``."""
        return f"register_{self.plural}"


_CONTRACTS = "nnframe.core.contracts"
KINDS: tuple[Kind, ...] = (
    Kind("layer", "layers", "dense", "nnframe.testing.layers:check_layer",
         f"{_CONTRACTS}.layer:LayerProtocol"),
    Kind("loss", "losses", "mse", "nnframe.testing.losses:check_loss",
         f"{_CONTRACTS}.loss:LossProtocol"),
    Kind("optimizer", "optimizers", "sgd", "nnframe.testing.optimizers:check_optimizer",
         f"{_CONTRACTS}.optimizer:OptimizerProtocol"),
    Kind("initializer", "initializers", "glorot_uniform",
         "nnframe.testing.initializers:check_initializer",
         f"{_CONTRACTS}.initializer:InitializerProtocol"),
    Kind("metric", "metrics", "accuracy", "nnframe.testing.metrics:check_metric",
         f"{_CONTRACTS}.metric:MetricProtocol"),
    Kind("schedule", "schedules", "cosine", "nnframe.testing.schedules:check_schedule",
         f"{_CONTRACTS}.schedule:ScheduleProtocol"),
    Kind("callback", "callbacks", "early_stopping", None,
         f"{_CONTRACTS}.callback:CallbackProtocol"),
    Kind("dataset", "datasets", "mnist_sample", None,
         "nnframe.datasets.contract:DatasetProtocol"),
    Kind("converter", "converters", "dense", None, "nnframe.onnx.contract:ConverterProtocol"),
    Kind("kernel", "kernels", "adam_step", "nnframe.testing.kernels:check_kernel",
         alternatives=True),
)
"""Every kind, in the order of the hooks and of ``nnframe list``."""

KIND_NAMES: tuple[str, ...] = tuple(kind.name for kind in KINDS)
"""The singular names: ``("layer", "loss", ..., "dataset")``."""
_BY_NAME = {kind.name: kind for kind in KINDS} | {kind.plural: kind for kind in KINDS}


def kind(name: str) -> Kind:
    """The kind called ``name`` (singular or plural); `ValueError` naming the kinds if none."""
    found = _BY_NAME.get(name) if isinstance(name, str) else None
    if found is None:
        raise ValueError(f"unknown kind of component {name!r}; the kinds are "
                         f"{', '.join(KIND_NAMES)}")
    return found


@functools.cache
def protocol_members(protocol: type) -> tuple[str, ...]:
    """The members a Protocol declares (its methods, ``__call__`` among them, and its
    annotated attributes), in the order its source declares them. Optional members are
    declared on a separate Protocol (``LayerOptions``), so they are not among these."""
    body = ast.parse(textwrap.dedent(inspect.getsource(protocol))).body[0].body
    names = [node.target.id if isinstance(node, ast.AnnAssign) else node.name
             for node in body if isinstance(node, ast.AnnAssign | ast.FunctionDef)]
    return tuple(name for name in names if name == "__call__" or not name.startswith("_"))
