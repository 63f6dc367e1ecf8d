"""What an MPI launcher told this process, read from the environment alone.

``mpiexec``, ``mpirun`` and ``srun`` start every process with variables that give its rank
and the number of processes. Reading them needs no MPI library, so nnframe can decide
whether to train on many processes (and say which extra is missing) without importing
mpi4py, and a run with no launcher, or with one process, never touches MPI.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import attrs

#: (size variable, rank variable) of each launcher family, in the order they are trusted.
LAUNCHER_VARIABLES = (
    ("OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK"),  # Open MPI's mpirun
    ("PMI_SIZE", "PMI_RANK"),  # MPICH's Hydra mpiexec, Intel MPI, srun --mpi=pmi2
    ("SLURM_STEP_NUM_TASKS", "SLURM_PROCID"),  # srun (a job step, not the batch script)
)


@attrs.frozen
class Launch:
    """How many processes the launcher started, and which one this is (0 without one)."""

    size: int = 1
    rank: int = 0
    #: the variable the size was read from; None when no launcher started this process
    source: str | None = None

    @property
    def parallel(self) -> bool:
        """Whether the launcher started more than one process."""
        return self.size > 1


def launch(environ: Mapping[str, str] | None = None) -> Launch:
    """The launch this process is part of, from ``environ`` (default: the environment).

    A Slurm allocation sets ``SLURM_NTASKS`` in the batch script too, where only one
    process runs; only a job step started by ``srun`` (``SLURM_STEP_ID``) counts.
    """
    env = os.environ if environ is None else environ
    for size_name, rank_name in LAUNCHER_VARIABLES:
        if size_name.startswith("SLURM") and "SLURM_STEP_ID" not in env:
            continue
        size, rank = _number(env.get(size_name)), _number(env.get(rank_name))
        if size is not None and size >= 1:
            rank = rank if rank is not None and 0 <= rank < size else 0
            return Launch(size, rank, size_name)
    return Launch()


def _number(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None
