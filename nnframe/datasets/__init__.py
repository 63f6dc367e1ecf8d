"""Data sets: XOR and MNIST as float32 arrays ready for a `Network`.

- `xor()`: the four samples of the XOR truth table.
- `mnist(split, data_dir=None, download=True)`: the real MNIST, checked against its SHA-256
  and downloaded into the data directory when missing.
- `mnist_sample(split)`: 2,000 training and 500 test images of MNIST shipped with nnframe.

MNIST is by Yann LeCun, Corinna Cortes and Christopher J.C. Burges, under the Creative
Commons Attribution-Share Alike 3.0 licence.
"""

from nnframe.datasets.idx import read_idx
from nnframe.datasets.mnist import mnist, read_mnist
from nnframe.datasets.paths import data_dir
from nnframe.datasets.sample import mnist_sample
from nnframe.datasets.xor import xor

__all__ = ["data_dir", "mnist", "mnist_sample", "read_idx", "read_mnist", "xor"]
