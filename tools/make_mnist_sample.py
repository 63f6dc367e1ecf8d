"""Regenerate nnframe/datasets/data/mnist_sample.npz: the MNIST subset shipped with nnframe.

The sample is the first 2,000 training and the first 500 test images of MNIST, as uint8,
read (and SHA-256-checked) from the standard IDX files. The .npz is written byte for byte
reproducibly (fixed member order and timestamps), so running this script again on the same
data gives the same file.

    python tools/make_mnist_sample.py --data-dir ~/data          # rewrite the file
    python tools/make_mnist_sample.py --data-dir ~/data --check  # compare only

MNIST is by Yann LeCun, Corinna Cortes and Christopher J.C. Burges (CC BY-SA 3.0).
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import zipfile

import numpy as np

from nnframe.datasets.mnist import read_mnist
from nnframe.datasets.sample import SAMPLE_SIZES, sample_path

FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def sample_arrays(data_dir: str | None) -> dict[str, np.ndarray]:
    """The arrays of the sample, in the order they are stored."""
    arrays = {}
    for split, size in SAMPLE_SIZES.items():
        images, labels = read_mnist(split, data_dir, download=False)
        arrays[f"x_{split}"] = np.ascontiguousarray(images[:size], dtype=np.uint8)
        arrays[f"y_{split}"] = np.ascontiguousarray(labels[:size], dtype=np.uint8)
    return arrays


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """An .npz (a zip of .npy members) with fixed timestamps, readable by ``np.load``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, array in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, array, allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=FIXED_TIME)
            info.external_attr = 0o644 << 16
            archive.writestr(info, member.getvalue(), compress_type=zipfile.ZIP_DEFLATED,
                             compresslevel=9)
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="directory holding mnist/ (default: "
                        "$NNFRAME_DATA_DIR, then the user cache)")
    parser.add_argument("--check", action="store_true",
                        help="only check that the shipped file holds exactly these arrays")
    args = parser.parse_args(argv)
    arrays = sample_arrays(args.data_dir)
    target = sample_path()
    if args.check:
        with np.load(target, allow_pickle=False) as shipped:
            same = set(shipped.files) == set(arrays) and all(
                np.array_equal(shipped[name], array) and shipped[name].dtype == array.dtype
                for name, array in arrays.items())
        print(f"{target}: {'matches' if same else 'DIFFERS FROM'} the MNIST files")
        return 0 if same else 1
    data = npz_bytes(arrays)
    temporary = target.with_suffix(".npz.part")
    temporary.write_bytes(data)
    os.replace(temporary, target)
    print(f"wrote {target} ({len(data):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
