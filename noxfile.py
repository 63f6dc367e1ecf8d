"""Sessions: ``nox -s tests`` (the README's test command), ``oldest``, ``lint``, ``docs``
and ``bench``.

The tests session installs nnframe, every plugin distribution under plugins/ and the test
plugin under tests/plugin_dist/ into its own virtualenv, as a user would with pip. The
bench session (not run by default, nor by CI) compares nnframe with PyTorch and scikit-learn
and rewrites docs/performance.md.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nox
from packaging.requirements import Requirement
from packaging.version import Version

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).parent
SHARED_DATA = ROOT.parent / "shared" / "data"

#: The oldest Python that ``requires-python`` admits: ``nox -s oldest`` runs on it.
OLDEST_PYTHON = "3.10"
#: The extras the test sessions install: each is tested, so each is installed.
TESTED_EXTRAS = ".[test,plot,sklearn,onnx,mpi,arrow,images,tensorboard,mlflow,tune,threads]"

nox.options.sessions = ["tests", "lint"]
nox.options.reuse_existing_virtualenvs = True


def plugin_distributions(include_tests: bool = True) -> list[str]:
    """Every separately installable plugin: plugins/* and the end-to-end test plugin."""
    folders = sorted(ROOT.glob("plugins/*/pyproject.toml"))
    if include_tests:
        folders += sorted(ROOT.glob("tests/plugin_dist/*/pyproject.toml"))
    return [str(p.parent) for p in folders]


def data_env() -> dict[str, str]:
    """Point the tests at the real MNIST files when they are beside the checkout."""
    if "NNFRAME_DATA_DIR" not in os.environ and SHARED_DATA.is_dir():
        return {"NNFRAME_DATA_DIR": str(SHARED_DATA)}
    return {}


@nox.session
def tests(session: nox.Session) -> None:
    """Install nnframe with every optional extra it tests (plot, sklearn, onnx, mpi, arrow,
    images, tensorboard, mlflow, tune: so that --plot, nnframe.sklearn, ONNX export run by
    onnxruntime, ``mpiexec -n 2`` training, the parquet and image_folder readers, the
    tracking callbacks and ``nnframe tune`` are all tested) and its plugins, then test.
    pandas lets scikit-learn's estimator checks and the tests feed DataFrames, as most
    scikit-learn users do. The mpich wheel puts its mpiexec in the session's bin/, which
    the tests use."""
    session.install(TESTED_EXTRAS, "pandas", *plugin_distributions())
    session.run("mpiexec", "--version", silent=True)  # the MPI tests must not be skipped
    session.run("pytest", *(session.posargs or ["-q"]), env=data_env())


def lower_bounds() -> list[str]:
    """``name==version`` for the lower bound (``>=``, ``~=`` or ``==``) of every requirement
    that nnframe and its plugin distributions declare, extras included; the highest where
    several declare one. A requirement with no lower bound (``mpich``) is left free."""
    bounds: dict[str, Version] = {}
    for path in [ROOT / "pyproject.toml", *sorted(ROOT.glob("plugins/*/pyproject.toml"))]:
        project = tomllib.loads(path.read_text())["project"]
        declared = list(project.get("dependencies", []))
        for extra in project.get("optional-dependencies", {}).values():
            declared += extra
        for text in declared:
            requirement = Requirement(text)
            for spec in requirement.specifier:
                if spec.operator in (">=", "~=", "=="):
                    version = Version(spec.version)
                    bounds[requirement.name] = max(bounds.get(requirement.name, version),
                                                   version)
    return [f"{name}=={version}" for name, version in sorted(bounds.items())]


@nox.session(python=OLDEST_PYTHON)
def oldest(session: nox.Session) -> None:
    """The tests on the oldest versions nnframe declares: every dependency pinned to its
    declared lower bound (a constraints file made from the pyproject.toml files), on the
    oldest Python it supports. What nnframe does not pin (pandas, scipy, click) resolves
    to what those oldest versions accept, as a user's pip would."""
    constraints = Path(session.create_tmp()) / "oldest-constraints.txt"
    constraints.write_text("\n".join(lower_bounds()) + "\n")
    session.install("-c", str(constraints), TESTED_EXTRAS, "pandas", *plugin_distributions())
    session.run("python", "-c", "import numpy, sys; print('Python', sys.version.split()[0],"
                " 'NumPy', numpy.__version__)")
    session.run("mpiexec", "--version", silent=True)
    session.run("pytest", *(session.posargs or ["-q"]), env=data_env())


@nox.session
def lint(session: nox.Session) -> None:
    """ruff over the whole project, and the architecture's import rules (import-linter,
    the contracts in pyproject.toml; docs/architecture.md explains them)."""
    session.install("ruff", "import-linter>=2.3")
    session.run("ruff", "check", ".")
    session.run("lint-imports", env={"PYTHONPATH": str(ROOT)})


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site into site/ and check it; any warning fails the build.

    After the build (--strict), the docs tests run on the built site: formulas rendered as
    MathML (no script, no network), an API reference entry for every public name, code that
    fits the page, no citation of the specification or of paths outside the repository.
    Once installed, the session needs no network. The sklearn extra is installed so that
    the tests can import nnframe.sklearn, which the API reference documents.
    """
    session.install(".[docs,test,sklearn]")
    session.run("mkdocs", "build", "--strict", *session.posargs,
                env={"NO_MKDOCS_2_WARNING": "1"})
    session.run("pytest", "-q", "tests/test_docs.py",
                "tests/test_docs_site.py", env={"NNFRAME_DOCS_SITE": str(ROOT / "site")})


@nox.session
def bench(session: nox.Session) -> None:
    """nnframe vs PyTorch CPU (fused and default optimizers) vs scikit-learn on the
    reference workloads at 1 and 2 threads, and one optimizer step (docs/performance.md),
    then the optimizer steps and the layer kernels with and without nnframe-numba, its
    start-up cost and the cnn epoch with it (plugins/nnframe-numba/README.md), then the
    mlp epoch, the batch-1 step and a cold ``nnframe list`` with and without it against
    PyTorch, then the mlp on 1 process against 2 on MPI (docs/distributed.md), then
    training on data streamed from disk against data in memory (docs/your-data.md), then
    the speed of reading a 100 MB CSV and Parquet file against pandas and pyarrow.

    Arguments after ``--`` go to ``python -m benchmarks`` (``--quick``, ``--rounds N``,
    ``--workloads mlp,cnn``, ``--threads 1,2``, ``--no-steps``; see ``--help``).
    """
    # torch==2.13.0: a CPU build from local disk on the project's machines.
    session.install(".[mpi]", *plugin_distributions(include_tests=False), "torch==2.13.0",
                    "scikit-learn", "matplotlib", "threadpoolctl")
    # the core's NumPy kernels, as docs/performance.md has always measured them
    session.run("python", "-m", "benchmarks", *session.posargs,
                env=data_env() | {"NNFRAME_KERNELS": "reference"})
    # optimizer steps with and without nnframe-numba, and its start-up cost
    session.run("python", "-m", "benchmarks.kernels", env=data_env())
    # the layer kernels with and without it, and the cnn epoch (plugins/nnframe-numba)
    session.run("python", "-m", "benchmarks.layer_kernels", "--workloads", "cnn,seq-mnist",
                "--epoch-workloads", "cnn", env=data_env())
    # the mlp epoch and the batch-1 step with and without it against PyTorch's fused Adam,
    # and a cold `nnframe list` with and without it
    session.run("python", "-m", "benchmarks.numba_rows", env=data_env())
    # the BLAS thread gate against the BLAS left alone, under a load generator
    session.run("python", "-m", "benchmarks.blas_threads", env=data_env())
    # data-parallel scaling: the mlp on 1 process against 2 (docs/distributed.md)
    session.run("python", "-m", "benchmarks.mpi_scaling", env=data_env())
    # streaming from disk: epoch time and peak memory against the data in memory
    session.run("python", "-m", "benchmarks.streaming", env=data_env())
    # reading a 100 MB numeric CSV and the same data as Parquet (docs/your-data.md)
    session.install(".[arrow]", "pandas")
    session.run("python", "-m", "benchmarks.reading", env=data_env())
