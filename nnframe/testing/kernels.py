"""`check_kernel`: does a kernel give the same arrays as nnframe's NumPy reference?

Each case of the kernel's `nnframe.speed.kernels.KernelSpec` (Adam with and without weight
decay, SGD plain, with momentum and Nesterov, ...) runs the kernel and the reference on
the same random arrays for a few steps, in float32 and float64, on edge shapes: one
element, an odd length, a 2-d array, and (float32) a buffer longer than the reference's
blocks. Every updated array must agree within float rounding (2e-5 relative in float32),
keep its dtype and shape, and the kernel must return None. A case that makes its own
arrays (a layer's kernel, `KernelCase.make`, edge shapes as cases of their own) runs in
float32 and float64.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nnframe.core.registry import Component, get_registry
from nnframe.speed.kernels import compare, spec
from nnframe.testing.report import CheckReport, PropertyResult

#: (shape, dtype) of every case: edge shapes, both float types, one buffer past the blocks.
SHAPES: tuple[tuple[int | tuple[int, ...], str], ...] = (
    (1, "float32"), (7, "float32"), ((3, 5), "float32"), (600_001, "float32"),
    (1, "float64"), (33, "float64"),
)
#: A case that makes its own arrays runs once per dtype.
DTYPES: tuple[tuple[int, str], ...] = ((0, "float32"), (0, "float64"))


def check_kernel(component_or_name: Component | str | Callable[..., None], *,
                 name: str | None = None, seed: int = 0, raises: bool = True,
                 **_: Any) -> CheckReport:
    """Check a kernel against the reference of the same name and return the report.

    Give a registered kernel (``"nnframe-numba:adam_step"``, a `Component`), or a function
    with the ``name`` of the kernel it implements. Raises `AssertionError` listing every
    failed property unless ``raises`` is false.
    """
    label, function, results = _resolve(component_or_name, name)
    if function is not None:
        try:
            kernel_spec = spec(label.rpartition(":")[2])
            reference = _reference(kernel_spec.name, kernel_spec.reference)
        except KeyError as exc:  # a plugin's own kernel, its owner not installed
            results.append(PropertyResult("reference", False, str(exc.args[0])))
            return _report(label, results, raises)
        results.append(PropertyResult("imports", True, "it imports"))
        for index, case in enumerate(kernel_spec.cases):
            results.append(_agrees(kernel_spec.name, function, reference, case,
                                   seed + index))
    return _report(label, results, raises)


def _report(label: str, results: list[PropertyResult], raises: bool) -> CheckReport:
    report = CheckReport("kernel", label, results)
    return report.raise_for_failures() if raises else report


def _resolve(subject: Any, name: str | None
             ) -> tuple[str, Callable[..., None] | None, list[PropertyResult]]:
    """The label, the function (None when it fails to import) and any failure so far."""
    if isinstance(subject, str):
        subject = get_registry().get("kernel", subject)
    if isinstance(subject, Component):
        label = subject.name if subject.builtin else subject.qualified_name
        try:
            return label, subject.factory, []
        except Exception as exc:
            return label, None, [PropertyResult("imports", False, f"{type(exc).__name__}: "
                                                f"{exc}")]
    if name is None or not callable(subject):
        raise TypeError("check_kernel takes a registered kernel, or a function and the "
                        "name= of the kernel it implements")
    spec(name)  # KeyError naming the kernels there are
    return name, subject, []


def _reference(name: str, reference: str) -> Callable[..., None]:
    """The registered reference of a kernel: the core's, or the declaring plugin's."""
    for component in get_registry().components("kernel"):
        if component.name == name and (component.builtin or component.reference == reference):
            return component.factory
    raise KeyError(f"the reference of kernel {name!r} ({reference}) is not registered")


def _agrees(name: str, function: Callable[..., None], reference: Callable[..., None],
            case: Any, seed: int) -> PropertyResult:
    property_name = f"agrees({case.label})"
    try:
        shapes = DTYPES if case.make is not None else SHAPES
        for shape, dtype in shapes:
            problems = compare(name, function, reference, case, shape, dtype, seed)
            if problems:
                return PropertyResult(property_name, False, problems[0])
    except Exception as exc:  # the kernel's own error is its failure, not the kit's
        return PropertyResult(property_name, False, f"{type(exc).__name__}: {exc}")
    return PropertyResult(property_name, True,
                          f"{len(shapes)} shapes and dtypes, {case.steps} steps each")
