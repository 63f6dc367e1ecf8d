"""Reading images from files: an image, a folder of images, or a folder of class folders,
decoded with Pillow (the ``images`` extra) now or batch by batch (`ImageRows`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from nnframe.datasets.raw import Raw
from nnframe.datasets.streaming import StreamedRows
from nnframe.errors import DataError

COLORS = {"grayscale": ("L", 1), "rgb": ("RGB", 3)}
#: File suffixes read as images; other files in the folders are ignored.
SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


def image_files(folder: Path) -> list[Path]:
    """The image files under ``folder`` (sub-folders included), in sorted order."""
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in SUFFIXES
                  and p.is_file())


def read_images(path: Path, reading: dict[str, Any], *, labelled: bool,
                reader: str = "image_folder", stream: bool | None = False) -> Raw:
    """An image file, a folder of images, or (``labelled``) a folder of class folders;
    ``stream`` (see `nnframe.datasets.streaming.streams`): the images are decoded batch by
    batch as training goes (`ImageRows`) instead of all now."""
    from nnframe.datasets.streaming import streams

    files, labels, classes = _listing(path, labelled)
    first = _decoded(files[:1], reading)
    size = list(first.shape[1:3])
    reading = {**reading, "size": size}
    rows = ImageRows(tuple(str(f) for f in files), reading, first.shape[1:])
    batch = rows if stream is not False and streams(stream, rows) else np.asarray(rows)
    targets = None if labels is None else np.asarray(labels, dtype=np.int64)
    return Raw(str(path), reader, batch, targets, class_names=None if labels is None
               else tuple(classes), reading=reading, names=rows.files)


def _listing(path: Path, labelled: bool) -> tuple[list[Path], list[int] | None,
                                                   list[str] | None]:
    """The image files, their class indices and the class names (None: unlabelled)."""
    if path.is_file():
        files, labels, classes = [path], None, None
    elif path.is_dir():
        classes = sorted(p.name for p in path.iterdir() if p.is_dir())
        if labelled and not classes:
            raise DataError(f"{path}: no class folders; put each class's images in a "
                            "sub-folder named after the class")
        if classes:
            files, labels = [], []
            for index, name in enumerate(classes):
                found = image_files(path / name)
                files += found
                labels += [index] * len(found)
        else:
            files, labels = image_files(path), None
    else:
        raise DataError(f"{path}: no such image file or folder")
    if not files:
        raise DataError(f"{path}: holds no image files ({', '.join(SUFFIXES)})")
    return files, labels, classes


def _decoded(files: Sequence[str | Path], reading: dict[str, Any]) -> np.ndarray:
    """The images of ``files`` (float32, scaled), every one at ``reading``'s size (the
    first one's when it has none)."""
    from nnframe.extras import require

    image_module = require("PIL.Image", "images", "reading images", package="Pillow")
    mode, channels = COLORS[reading.get("color", "rgb")]
    size = reading.get("size")
    batch = None
    for row, file in enumerate(files):
        pixels = _pixels(image_module, Path(file), mode, size)
        if batch is None:
            size = list(pixels.shape[:2])
            batch = np.empty((len(files), *pixels.shape[:2], channels), np.float32)
        batch[row] = pixels.reshape(*pixels.shape[:2], channels)
    batch *= np.float32(reading.get("scale", 1.0 / 255.0))
    return batch


@attrs.frozen(eq=False)
class ImageRows(StreamedRows):
    """Image files decoded when a batch needs them (``image_folder`` with ``stream``)."""

    files: tuple[str, ...] = attrs.field(repr=False)
    reading: dict[str, Any]
    """Size, colour and scale, as the reader reads them."""
    sample_shape: tuple[int, ...] = attrs.field(converter=tuple)
    rows: np.ndarray | None = attrs.field(default=None, repr=False,
                                          converter=lambda v: None if v is None else
                                          np.asarray(v, dtype=np.int64))

    @property
    def count(self) -> int:
        return len(self.files)

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.float32)

    @property
    def where(self) -> str:
        return str(Path(self.files[0]).parent.parent) if self.files else "images"

    def read_sorted(self, positions: np.ndarray, dtype: Any) -> np.ndarray:
        return _decoded([self.files[i] for i in positions.tolist()], self.reading)


def _pixels(image_module: Any, file: Path, mode: str, size: list[int] | None) -> np.ndarray:
    try:
        with image_module.open(file) as image:
            image = image.convert(mode)
            if size is not None and image.size != (size[1], size[0]):
                image = image.resize((size[1], size[0]), image_module.BILINEAR)
            return np.asarray(image, dtype=np.float32)
    except (OSError, ValueError, image_module.DecompressionBombError) as exc:
        raise DataError(f"{file}: not an image Pillow can read ({exc})") from None
