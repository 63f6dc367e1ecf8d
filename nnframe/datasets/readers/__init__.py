"""Readers of the user's files as data set components: ``csv``, ``parquet``, ``npy``,
``npz`` and ``image_folder`` (see `FileDataset` for the contract)."""

from __future__ import annotations

from nnframe.datasets.raw import Raw
from nnframe.datasets.readers.base import FileDataset

__all__ = ["FileDataset", "Raw"]
