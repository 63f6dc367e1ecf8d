"""Kernels: nnframe's named hot operations, which a plugin may replace with faster code.

The core holds the NumPy reference of each (`SPECS`: ``adam_step``, ``adamw_step``,
``sgd_step``, ``rmsprop_step``) and registers it through the hook ``register_kernels``,
as a plugin registers its own version under the same name::

    @nnframe.hookimpl
    def register_kernels(register):
        register("adam_step", "my_package.fused:adam_step")   # imported on first use

On the first call of a kernel in a process, `use` picks among the installed versions:
each plugin's is imported and compared with the reference on small random inputs (it must
give the same arrays within float32 rounding); one that fails to import or to agree is
skipped with a one-line warning. A plugin's kernel that agrees is used from then on (a
plugin provides a kernel to be faster; `python -m benchmarks.kernels` measures it), and
where several plugins provide one, the fastest on a 65,536-element buffer. The choice
never depends on timings otherwise, so that two runs with one seed give the same model.
``NNFRAME_KERNELS=reference`` in the environment, or ``fit(..., kernels="reference")``,
keeps to the references. Nothing here
imports a plugin's kernel (nor its dependencies) before that first call.

A plugin may name kernels of its own (a layer's hot loop): its ``register_kernels`` hook
gives their `KernelSpec` to `declare` and registers the reference under the same name;
other plugins then register faster versions of it as they do of the core's.
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import attrs

from nnframe.core import registry as _registry

if TYPE_CHECKING:
    import numpy as np


__all__ = ["KERNELS_ENV", "SPECS", "Choice", "KernelCase", "KernelSpec", "choices",
           "compare", "declare", "forget", "kernel", "kernel_mode", "make_arguments",
           "preference", "spec", "use"]

KERNELS_ENV = "NNFRAME_KERNELS"
"""``NNFRAME_KERNELS=reference``: use the core's NumPy kernels only (``auto``, the default:
a plugin's kernel where one passes its check)."""
MODES = ("auto", "reference")
#: Elements of the buffer several plugins' kernels are timed on at selection.
TIMING_SIZE = 65_536


@attrs.frozen
class KernelCase:
    """One way of calling a kernel in its checks: which arrays go in, with which options.

    ``arrays`` are positional, ``keyword_arrays`` given by name; the arrays named in
    ``nonnegative`` are drawn >= 0 (second moments). ``steps`` runs the kernel that many
    times in a row, passing ``step=1, 2, ...`` when ``counts_steps``. ``make``
    (``"module:function"``, called ``function(label, rng, dtype)``) builds the case's own
    ``(positional arrays, keyword arguments)`` instead, at its own shapes (a layer's
    kernel: a batch of images and its geometry); only the arrays named are compared.
    """

    label: str
    arrays: tuple[str, ...]
    options: dict[str, Any] = attrs.Factory(dict)
    keyword_arrays: tuple[str, ...] = ()
    nonnegative: tuple[str, ...] = ()
    counts_steps: bool = False
    steps: int = 3
    make: str | None = None


@attrs.frozen
class KernelSpec:
    """A named kernel: its NumPy reference (``"module:function"``), what it does, and the
    cases its checks call it with. Every array argument is updated in place, except the
    gradient ``grads``."""

    name: str
    reference: str
    cases: tuple[KernelCase, ...]


_ADAM = {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
_MOMENTS = ("values", "grads", "m", "v")

SPECS: dict[str, KernelSpec] = {spec.name: spec for spec in (
    KernelSpec("adam_step", "nnframe.speed.blocked:adam_step", (
        KernelCase("adam", _MOMENTS, _ADAM, nonnegative=("v",), counts_steps=True),
        KernelCase("adam, weight_decay=0.1", _MOMENTS, {**_ADAM, "weight_decay": 0.1},
                   nonnegative=("v",), counts_steps=True),
        KernelCase("adam, lr=0.1, beta2=0.9", _MOMENTS,
                   {**_ADAM, "lr": 0.1, "beta2": 0.9}, nonnegative=("v",),
                   counts_steps=True))),
    KernelSpec("adamw_step", "nnframe.speed.blocked:adamw_step", (
        KernelCase("adamw", _MOMENTS, {**_ADAM, "weight_decay": 0.01},
                   nonnegative=("v",), counts_steps=True),
        KernelCase("adamw, weight_decay=0", _MOMENTS, {**_ADAM, "weight_decay": 0.0},
                   nonnegative=("v",), counts_steps=True))),
    KernelSpec("sgd_step", "nnframe.speed.blocked:sgd_step", (
        KernelCase("sgd", ("values", "grads"), {"lr": 0.1}),
        KernelCase("sgd, momentum=0.9", ("values", "grads", "velocity"),
                   {"lr": 0.1, "momentum": 0.9}),
        KernelCase("sgd, nesterov", ("values", "grads", "velocity"),
                   {"lr": 0.1, "momentum": 0.9, "nesterov": True}))),
    KernelSpec("rmsprop_step", "nnframe.speed.blocked:rmsprop_step", (
        KernelCase("rmsprop", ("values", "grads", "square_avg"),
                   {"lr": 0.01, "alpha": 0.99, "eps": 1e-8}, nonnegative=("square_avg",)),
        KernelCase("rmsprop, momentum=0.9", ("values", "grads", "square_avg"),
                   {"lr": 0.01, "alpha": 0.99, "eps": 1e-8, "momentum": 0.9},
                   keyword_arrays=("momentum_buffer",), nonnegative=("square_avg",)))),
)}
"""The core's named kernels, by name."""
_DECLARED: dict[str, KernelSpec] = {}


def declare(kernel_spec: KernelSpec) -> None:
    """Name a plugin's own kernel (call it in the plugin's ``register_kernels``, which
    registers the reference, ``kernel_spec.reference``, under the same name); declaring
    the same spec again is harmless, another under a taken name a `ValueError`."""
    known = SPECS.get(kernel_spec.name) or _DECLARED.get(kernel_spec.name)
    if known is not None and known != kernel_spec:
        raise ValueError(f"kernel {kernel_spec.name!r} is declared already, with reference "
                         f"{known.reference!r}; choose another name")
    _DECLARED[kernel_spec.name] = kernel_spec


def spec(name: str) -> KernelSpec:
    """The `KernelSpec` of ``name``, the core's or a plugin's (declared as the registry
    loads its plugins); `KeyError` naming all."""
    if name not in SPECS and name not in _DECLARED:
        _registry.get_registry().load()
    found = SPECS.get(name) or _DECLARED.get(name)
    if found is None:
        raise KeyError(f"nnframe has no kernel named {name!r}; its kernels are "
                       f"{', '.join([*SPECS, *_DECLARED])}")
    return found


@attrs.frozen
class Choice:
    """Which version of a kernel a process uses, and why."""

    name: str
    provider: str
    """``"nnframe"`` (the reference; for a plugin's own kernel, the distribution that
    declares it) or the distribution whose kernel is used."""
    function: Callable[..., None] = attrs.field(repr=False)
    reason: str

    def describe(self) -> str:
        return f"{self.name}: {self.provider} ({self.reason})"


_mode: contextvars.ContextVar[str | None] = contextvars.ContextVar("nnframe_kernels",
                                                                   default=None)
_chosen: dict[tuple[str, str], Choice] = {}
#: The registry the choices in `_chosen` were made from: another one means choose again.
_chosen_from: list[object] = [None]


def kernel_mode(mode: str | None = None) -> str:
    """The mode in force: ``mode`` if given, else the one `fit` set, else
    ``$NNFRAME_KERNELS``, else ``"auto"``; `ConfigError` for anything else."""
    from nnframe.errors import ConfigError

    mode = mode or _mode.get() or os.environ.get(KERNELS_ENV) or "auto"
    if mode not in MODES:
        raise ConfigError(f"kernels must be one of {', '.join(MODES)}, got {mode!r} (from "
                          f"the argument or ${KERNELS_ENV})")
    return mode


@contextlib.contextmanager
def preference(mode: str | None) -> Iterator[None]:
    """Use ``mode`` (``"auto"`` or ``"reference"``; None: as the environment says) inside
    the block: how `fit`'s ``kernels`` argument takes effect."""
    token = _mode.set(kernel_mode(mode) if mode is not None else None)
    try:
        yield
    finally:
        _mode.reset(token)


def use(name: str) -> Callable[..., None]:
    """The kernel ``name`` as this process runs it (chosen on the first call; see the
    module's docstring)."""
    key = (name, _mode.get() or os.environ.get(KERNELS_ENV) or "auto")
    if _registry._registry is not _chosen_from[0]:
        forget()
    chosen = _chosen.get(key)
    if chosen is None:
        chosen = _chosen[key] = _choose(name, kernel_mode(key[1]))
    return chosen.function


def kernel(name: str) -> Callable[..., None]:
    """A named kernel as this process runs it, the public face of `use`: a plugin's
    version that passes its check, or the NumPy reference: ``nnframe.kernel("adam_step")``."""
    return use(name)


def choices(names: tuple[str, ...] | None = None, mode: str | None = None) -> list[Choice]:
    """The version of each kernel (all of `SPECS` by default) in use, choosing where not
    chosen yet: what the training banner reports."""
    mode = kernel_mode(mode)
    if _registry._registry is not _chosen_from[0]:
        forget()
    found = []
    for name in names or tuple(SPECS):
        key = (name, mode)
        if key not in _chosen:
            _chosen[key] = _choose(name, mode)
        found.append(_chosen[key])
    return found


def forget() -> None:
    """Choose again on the next call (after a plugin is registered in-process; a new
    registry is noticed by itself)."""
    _chosen.clear()
    _chosen_from[0] = _registry._registry


def _choose(name: str, mode: str) -> Choice:
    registry = _registry.get_registry()
    _chosen_from[0] = registry
    providers = [c for c in registry.components("kernel") if c.name == name]
    declared = _DECLARED[name].reference if name in _DECLARED else "(the core's)"
    owner = next((c for c in providers if c.builtin or c.reference == declared), None)
    if owner is None:
        raise KeyError(f"nnframe has no kernel named {name!r}; its kernels are "
                       f"{', '.join([*SPECS, *_DECLARED])}")
    reference = owner.factory
    others = [c for c in providers if c is not owner]
    if mode == "reference":
        return Choice(name, owner.distribution, reference, "the reference, as asked")
    if not others:
        return Choice(name, owner.distribution, reference, "the reference, none other "
                      "installed")
    passing = [c for c in others if _passes(c, reference)]
    if not passing:
        return Choice(name, owner.distribution, reference, "the reference: the "
                      "installed kernels failed their check")
    if len(passing) == 1:
        return Choice(name, passing[0].distribution, passing[0].factory, "checked")
    timed = sorted((_seconds(name, c.factory), c.distribution, c.factory) for c in passing)
    return Choice(name, timed[0][1], timed[0][2], "checked, the fastest of "
                  + ", ".join(sorted(c.distribution for c in passing)))


def _passes(component: _registry.Component, reference: Callable[..., None]) -> bool:
    """Whether a plugin's kernel imports and agrees with the reference (one warning
    line when it does not)."""
    try:
        function = component.factory
        problems = [p for case in spec(component.name).cases
                    for p in compare(component.name, function, reference, case, size=257)]
    except Exception as exc:  # plugin code: it must never break training
        problems = [f"{type(exc).__name__}: {exc}"]
    if problems:
        print(f"nnframe: warning: kernel {component.name!r} of {component.distribution} "
              f"is not used: {problems[0]} (run `nnframe check "
              f"{component.distribution}`)", file=sys.stderr)
    return not problems


def _seconds(name: str, function: Callable[..., None]) -> float:
    """The best of a few calls on `TIMING_SIZE` float32 elements, CPU seconds."""
    case = spec(name).cases[0]
    args, kwargs = make_arguments(case, TIMING_SIZE, "float32", seed=0)
    best = float("inf")
    for _ in range(5):
        start = time.process_time()
        function(*args, **_step(case, kwargs, 1))
        best = min(best, time.process_time() - start)
    return best


def make_arguments(case: KernelCase, shape: int | tuple[int, ...], dtype: str,
                   seed: int) -> tuple[list[np.ndarray], dict[str, Any]]:
    """Random arrays for ``case`` (positional list, keyword dict with the options)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    if case.make is not None:
        module, _, function = case.make.partition(":")
        return getattr(importlib.import_module(module), function)(
            case.label, rng, np.dtype(dtype))
    arrays = {}
    for name in (*case.arrays, *case.keyword_arrays):
        drawn = rng.standard_normal(shape)
        arrays[name] = (np.abs(drawn) * 0.1 if name in case.nonnegative else drawn).astype(
            dtype)
    kwargs = {**case.options, **{n: arrays[n] for n in case.keyword_arrays}}
    return [arrays[n] for n in case.arrays], kwargs


def _step(case: KernelCase, kwargs: dict[str, Any], step: int) -> dict[str, Any]:
    return {**kwargs, "step": step} if case.counts_steps else kwargs


def compare(name: str, function: Callable[..., None], reference: Callable[..., None],
            case: KernelCase, size: int | tuple[int, ...] = 257, dtype: str = "float32",
            seed: int = 0) -> list[str]:
    """Run ``function`` and ``reference`` on the same random arrays, ``case.steps`` times;
    what differs (beyond float rounding: 2e-5 relative for float32, 1e-12 for float64),
    changes dtype or shape, or is returned: empty when they agree."""
    import numpy as np

    ours, ours_kwargs = make_arguments(case, size, dtype, seed)
    theirs, theirs_kwargs = make_arguments(case, size, dtype, seed)
    names = (*case.arrays, *case.keyword_arrays)
    rtol = 2e-5 if np.dtype(dtype) == np.float32 else 1e-12
    problems = []
    for step in range(1, case.steps + 1):
        returned = function(*ours, **_step(case, ours_kwargs, step))
        reference(*theirs, **_step(case, theirs_kwargs, step))
        if returned is not None:
            problems.append(f"{name} returned {type(returned).__name__}; a kernel updates "
                            "its arrays in place and returns None")
        got = [*ours, *(ours_kwargs[n] for n in case.keyword_arrays)]
        want = [*theirs, *(theirs_kwargs[n] for n in case.keyword_arrays)]
        for array_name, a, b in zip(names, got, want, strict=True):
            if a.dtype != b.dtype or a.shape != b.shape:
                problems.append(f"{case.label}: {array_name} became {a.shape} {a.dtype}, "
                                f"the reference keeps {b.shape} {b.dtype}")
                continue
            scale = float(np.max(np.abs(b))) if b.size else 0.0
            error = np.abs(a.astype(np.float64) - b)
            bound = rtol * (np.abs(b) + scale * 1e-2 + 1e-30)
            if not np.all(error <= bound):
                where = int(np.argmax(error - bound))
                index = np.unravel_index(where, a.shape)
                problems.append(
                    f"{case.label}, {dtype} {tuple(np.shape(a))}, step {step}: "
                    f"{array_name}[{', '.join(map(str, index))}] is "
                    f"{a[index]!r}, the reference {b[index]!r} (tolerance rtol {rtol:g})")
        if problems:
            break
    return problems
