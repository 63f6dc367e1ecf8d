"""The hook specifications every nnframe plugin implements (pluggy project ``nnframe``).

A plugin is a module (or any object) with functions marked ``@nnframe.hookimpl``, named
after the kinds it provides, one hook per entry of `nnframe.core.kinds.KINDS` (a test
keeps them in step). Each is called once with a ``register`` callable::

    @nnframe.hookimpl
    def register_layers(register):
        register("swish", Swish)                                  # a class or a function
        register("gelu", "my_package.gelu:GELU", summary="...")  # imported on first use

The built-in components are registered through these very hooks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import pluggy

from nnframe.constants import PROJECT_NAME
from nnframe.core.kinds import KINDS

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
"""Marks the hook specifications below (nnframe's own use)."""
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
"""Marks a plugin's hook implementations: ``@nnframe.hookimpl`` above a function named
after a hook (``register_layers``), in the module an entry point names."""


class Register(Protocol):
    """The callable each hook receives: ``register(name, factory, *, summary=None)``."""

    def __call__(self, name: str, factory: Callable[..., Any] | str, *,
                 summary: str | None = None) -> None:
        """Register ``factory`` under ``name`` for the hook's kind of component.

        ``factory`` is a class or a function that builds the component from its config,
        or a ``"package.module:Name"`` string, imported only when the component is first
        built (its docstring is read from the source for ``nnframe list`` without
        importing it). ``summary`` replaces that docstring's first line. A bad name or
        factory raises `nnframe.PluginError`, which disables the plugin.
        """


@hookspec
def register_layers(register: Register) -> None:
    """Register layers: network building blocks with forward and backward.

    ``register("dense", Dense)``; ``factory(**config)`` builds one (contract:
    `nnframe.core.contracts.layer.LayerProtocol`).
    """


@hookspec
def register_losses(register: Register) -> None:
    """Register losses: training objectives that give dE/dY for the last layer.

    ``register("mse", MeanSquaredError)``; ``factory(**config)`` builds one (contract:
    `nnframe.core.contracts.loss.LossProtocol`).
    """


@hookspec
def register_optimizers(register: Register) -> None:
    """Register optimizers: update rules that change parameters from gradients.

    ``register("sgd", SGD)``; ``factory(**config)`` builds one (contract:
    `nnframe.core.contracts.optimizer.OptimizerProtocol`).
    """


@hookspec
def register_initializers(register: Register) -> None:
    """Register initializers: how a layer's weights are drawn at build.

    ``register("glorot_uniform", GlorotUniform)``; ``factory(**config)`` builds one
    (contract: `nnframe.core.contracts.initializer.InitializerProtocol`).
    """


@hookspec
def register_metrics(register: Register) -> None:
    """Register metrics: scores reported during training and evaluation.

    ``register("accuracy", Accuracy)``; ``factory(**config)`` builds one (contract:
    `nnframe.core.contracts.metric.MetricProtocol`).
    """


@hookspec
def register_schedules(register: Register) -> None:
    """Register schedules: learning rate as a function of the training step.

    ``register("cosine", CosineDecay)``; ``factory(**config)`` builds one (contract:
    `nnframe.core.contracts.schedule.ScheduleProtocol`).
    """


@hookspec
def register_callbacks(register: Register) -> None:
    """Register callbacks: code run at points of training (stop early, save, log).

    ``register("early_stopping", EarlyStopping)``; ``factory(**config)`` builds one
    (contract: `nnframe.Callback`).
    """


@hookspec
def register_datasets(register: Register) -> None:
    """Register datasets: named data sets that configs and the CLI can train on.

    ``register("mnist_sample", mnist_sample)``; ``factory(**config)`` builds one (contract:
    `nnframe.Dataset`).
    """


@hookspec
def register_converters(register: Register) -> None:
    """Register converters: turn a layer into ONNX nodes, for nnframe export.

    ``register("dense", DenseConverter)``; ``factory(**config)`` builds one (contract:
    `nnframe.onnx.contract.ConverterProtocol`).
    """


@hookspec
def register_kernels(register: Register) -> None:
    """Register kernels: faster versions of nnframe's named hot operations (the update of
    each optimizer), used in place of the NumPy reference.

    Register a function under a kernel's name (``adam_step``, ``sgd_step``...; see
    `nnframe.speed.kernels.SPECS`): it must give the NumPy reference's results, which
    `nnframe.testing.check_kernel` checks; nnframe uses the fastest that passes.
    """


HOOKS: tuple[str, ...] = tuple(kind.hook for kind in KINDS)
"""The hook names, in the order of the kinds table: ``("register_layers", ...)``."""
