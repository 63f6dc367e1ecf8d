"""``nnframe new-plugin``: write a plugin distribution that installs, tests and checks clean.

The files come from the templates in ``nnframe/testing/templates/plugin/`` (shipped as package
data), filled with `string.Template`: ``$$distribution``, ``$$package`` and
``$$nnframe_version``.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import keyword
import os
import re
import shutil
import string
import tempfile
from pathlib import Path

from nnframe._version import __version__
from nnframe.errors import ConfigError

#: template file -> where it goes in the new distribution (``{package}`` filled in).
LAYOUT = {
    "pyproject.toml.tmpl": "pyproject.toml",
    "README.md.tmpl": "README.md",
    "__init__.py.tmpl": "src/{package}/__init__.py",
    "plugin.py.tmpl": "src/{package}/plugin.py",
    "test_plugin.py.tmpl": "tests/test_plugin.py",
}
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]*([-_][A-Za-z0-9]+)*$")
#: Longest plugin name: far more than any real distribution needs, and well within the
#: 255 bytes a file name may have on common file systems (with the staging folder's suffix).
MAX_NAME_LENGTH = 100


def package_name(distribution: str) -> str:
    """The import name for a distribution name: ``nnframe-swish`` -> ``nnframe_swish``."""
    if len(distribution) > MAX_NAME_LENGTH:
        raise ConfigError(f"invalid plugin name {distribution[:20]}... ({len(distribution)} "
                          f"characters): a plugin name has at most {MAX_NAME_LENGTH}")
    if not _NAME.match(distribution):
        raise ConfigError(f"invalid plugin name {distribution!r}: use letters and digits, "
                          "joined by single - or _ (for example nnframe-swish)")
    package = distribution.replace("-", "_").lower()
    if keyword.iskeyword(package) or package == "nnframe":
        raise ConfigError(f"{distribution!r} cannot be a package name; choose another name")
    if importlib.util.find_spec(package) is not None:
        raise ConfigError(f"a module named {package!r} is already importable here; "
                          "choose another plugin name so that the two do not clash")
    return package


def render(distribution: str, package: str) -> dict[str, str]:
    """The new distribution's files: relative path -> text."""
    templates = importlib.resources.files("nnframe.testing").joinpath("templates", "plugin")
    values = {"distribution": distribution, "package": package,
              "nnframe_version": __version__}
    return {
        target.format(package=package):
            string.Template(templates.joinpath(source).read_text("utf-8")).substitute(values)
        for source, target in LAYOUT.items()
    }


def new_plugin(distribution: str, directory: str | os.PathLike[str] = ".") -> Path:
    """Write the distribution into ``directory/distribution`` and return that folder.

    The folder appears whole or not at all: it is written beside, then renamed.
    """
    package = package_name(distribution)
    parent = Path(directory)
    target = parent / distribution
    if target.is_symlink() and not target.exists():
        raise ConfigError(f"{target} is a broken symbolic link (to {os.readlink(target)}); "
                          "remove it or choose another name or --dir")
    if target.exists() or target.is_symlink():
        raise ConfigError(f"{target} already exists; choose another name or --dir")
    if not parent.is_dir():
        raise ConfigError(f"{parent} is not a directory; create it first or choose another --dir")
    files = render(distribution, package)
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{distribution}-", dir=parent))
    except OSError as exc:
        raise ConfigError(f"cannot create {target}: {parent} is not writable "
                          f"({exc.strerror or exc}); choose another --dir") from None
    try:
        for relative, text in files.items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        staging.chmod(0o777 & ~_umask())
        os.rename(staging, target)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise ConfigError(f"cannot create {target}: {exc.strerror or exc}; nothing was "
                          "written") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
