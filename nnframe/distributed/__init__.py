"""Training one model on many processes: data parallelism on MPI (``nnframe[mpi]``).

``mpiexec -n 4 nnframe train cfg.toml`` trains on four processes with nothing else to
change; in Python, ``net.fit(..., strategy="mpi")`` in a script started by ``mpiexec``
(or ``strategy="auto"``: MPI when a launcher started several processes, else one
process). `Strategy` is the extension point of the training loop, and also the
one-process strategy `fit` uses by default; `MPIStrategy` is the data-parallel one, and
`ThreadStrategy` (``strategy="threads"``) splits each batch over one process's threads.

Importing this package imports no MPI: mpi4py is imported only when an `MPIStrategy` is
made, so one-process training never needs it.
"""

from __future__ import annotations

from nnframe.distributed.launcher import Launch, launch
from nnframe.distributed.mpi import MPIStrategy
from nnframe.distributed.strategy import Strategy
from nnframe.distributed.threads import ThreadStrategy
from nnframe.errors import ConfigError

STRATEGY_NAMES = ("auto", "mpi", "threads")


def resolve(strategy: str | Strategy | None) -> Strategy:
    """The strategy `fit` was given: None for one process, a `Strategy`, ``"mpi"``
    (every process of ``MPI.COMM_WORLD``), ``"threads"`` (each batch split over this
    process's threads, `ThreadStrategy`) or ``"auto"`` (see `from_launcher`)."""
    if strategy is None:
        return Strategy()
    if isinstance(strategy, Strategy):
        return strategy
    if strategy == "auto":
        return from_launcher()
    if strategy == "mpi":
        return MPIStrategy()
    if strategy == "threads":
        return ThreadStrategy()
    names = ", ".join(map(repr, STRATEGY_NAMES[:-1])) + f" or {STRATEGY_NAMES[-1]!r}"
    raise ConfigError(f"strategy must be None, {names}, or a nnframe.distributed.Strategy, "
                      f"got {strategy!r}")


def from_launcher() -> Strategy:
    """MPI data parallelism when an MPI launcher started this process as one of
    several (``mpiexec -n 4``, ``srun``), else one process; without mpi4py, a
    `nnframe.errors.MissingExtraError` that says to install ``nnframe[mpi]``."""
    started = launch()
    if not started.parallel:
        return Strategy()
    return MPIStrategy(expected=started.size)


__all__ = ["Launch", "MPIStrategy", "Strategy", "ThreadStrategy", "from_launcher", "launch",
           "resolve"]
