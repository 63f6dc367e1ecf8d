"""Data sets: XOR and MNIST as float32 arrays ready for a `Network`."""

from nnframe.datasets.idx import read_idx
from nnframe.datasets.mnist import mnist
from nnframe.datasets.paths import data_dir
from nnframe.datasets.xor import xor

__all__ = ["data_dir", "mnist", "read_idx", "xor"]
