"""Optional dependencies: import one, or say which nnframe extra installs it.

Every optional feature (ONNX export, the scikit-learn estimators, plots, MPI) needs a
package that plain ``pip install nnframe`` does not bring. Each asks here, so that a
missing or too old package is always the same one-line `MissingExtraError` naming the
``pip install 'nnframe[extra]'`` that fixes it.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from nnframe.errors import MissingExtraError


def install_hint(extra: str, *, upgrade: bool = False) -> str:
    """The command that installs an extra: ``pip install 'nnframe[onnx]'``."""
    return f"pip install {'-U ' if upgrade else ''}'nnframe[{extra}]'"


def missing(purpose: str, package: str, extra: str,
            error: type[Exception] = MissingExtraError) -> Exception:
    """The error for a package that is not installed: ``"{purpose} needs {package},
    which is not installed: pip install 'nnframe[extra]'"``."""
    return error(f"{purpose} needs {package}, which is not installed: {install_hint(extra)}")


def is_installed(module: str) -> bool:
    """Whether ``module`` can be imported, found without importing it (cheap)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package missing, or None in sys.modules
        return False


def require(module: str, extra: str, purpose: str, *, package: str | None = None,
            minimum: tuple[int, ...] = (),
            error: type[Exception] = MissingExtraError) -> ModuleType:
    """Import ``module`` for ``purpose`` (``"exporting to ONNX"``), or raise ``error``
    saying how to install the extra ``extra``: when the package is not installed, when it
    is older than ``minimum``, or when it is installed but cannot be loaded.

    ``package`` names it in the message (default: the module's top-level name).
    """
    top = module.partition(".")[0]
    package = package or top
    try:
        found = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is not None and exc.name != top and not exc.name.startswith(top + "."):
            raise  # the package is there but something it imports is not: its own bug
        raise missing(purpose, package, extra, error) from None
    except ImportError as exc:  # installed, but its compiled part or library cannot load
        raise error(f"{purpose} needs {package}, which is installed but cannot be loaded "
                    f"({exc}); reinstall it with {install_hint(extra)}") from None
    if minimum:
        version = getattr(importlib.import_module(top), "__version__", "0")
        if tuple(int(p) for p in version.split(".")[:len(minimum)] if p.isdigit()) < minimum:
            wanted = ".".join(map(str, minimum))
            raise error(f"{purpose} needs {package} >= {wanted}, found {version}: "
                        f"{install_hint(extra, upgrade=True)}")
    return found
