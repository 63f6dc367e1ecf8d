"""Write MNIST digits as PNG files, one folder per digit, for examples/digits_folder.toml.

The images are the MNIST sample shipped with nnframe (so this runs offline): 1,000
training images into data/digits/<digit>/ and 100 test images into data/new_digits/ (no
labels: images to predict). Needs Pillow (pip install 'nnframe[images]').

Run: python examples/digit_pngs.py [folder]   (default: examples/data)
"""

import sys
from pathlib import Path

import numpy as np
from PIL import Image

from nnframe.datasets import mnist_sample


def write_pngs(folder: Path, train: int = 1000, new: int = 100) -> None:
    x, y = mnist_sample("train")
    for index in range(train):
        digit = folder / "digits" / str(y[index])
        digit.mkdir(parents=True, exist_ok=True)
        pixels = np.round(x[index, :, :, 0] * 255).astype(np.uint8)
        Image.fromarray(pixels, mode="L").save(digit / f"{index:05d}.png")
    x, _ = mnist_sample("test")
    (folder / "new_digits").mkdir(parents=True, exist_ok=True)
    for index in range(new):
        pixels = np.round(x[index, :, :, 0] * 255).astype(np.uint8)
        Image.fromarray(pixels, mode="L").save(folder / "new_digits" / f"{index:03d}.png")


if __name__ == "__main__":
    write_pngs(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "data")
