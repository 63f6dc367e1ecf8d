"""The ``image_folder`` reader: one sub-folder per class, as Keras' and torchvision's
image-folder readers lay them out (Pillow, from the ``images`` extra)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import attrs
import numpy as np

from nnframe.datasets.readers.base import FileDataset, Raw, as_path_text, check_stream
from nnframe.datasets.streaming import StreamedRows
from nnframe.errors import ConfigError, DataError

COLORS = {"grayscale": ("L", 1), "rgb": ("RGB", 3)}
#: File suffixes read as images; other files in the folders are ignored.
SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


def _size(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return (value, value)
    return tuple(value) if isinstance(value, (list, tuple)) else value


def _check_size(instance: Any, attribute: Any, value: Any) -> None:
    if value is not None and not (len(value) == 2 and all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)):
        error = ConfigError(f"image_folder: size must be [height, width] in pixels, got "
                            f"{value!r}")
        error.argument = "size"
        raise error


def _check_color(instance: Any, attribute: Any, value: Any) -> None:
    if value not in COLORS:
        error = ConfigError(f"image_folder: color must be one of {', '.join(COLORS)}, got "
                            f"{value!r}")
        error.argument = "color"
        raise error


@attrs.define(eq=False)
class ImageFolder(FileDataset):
    """Images in one sub-folder per class (the folder names are the class names).

    ``size``: [height, width] every image is resized to (default: the first image's);
    ``color``: ``"grayscale"`` or ``"rgb"``; ``scale``: pixel values are multiplied by it
    (default 1/255, into [0, 1]). Samples are (height, width, channels). ``stream``:
    decode each batch's images as training goes (unset: when they would not fit).
    """

    name: ClassVar[str] = "image_folder"
    streams: ClassVar[bool] = True
    #: Building reads nothing, so the kit checks it with paths that need not exist.
    check_hints: ClassVar[dict] = {"config": {"path": "images"}}

    path: str = attrs.field(converter=as_path_text)
    size: tuple[int, int] | None = attrs.field(default=None, converter=_size,
                                               validator=_check_size)
    color: str = attrs.field(default="rgb", validator=_check_color)
    scale: float = attrs.field(default=1.0 / 255.0, converter=float)
    stream: bool | None = attrs.field(default=None, validator=check_stream)

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        folder = Path(self.path)
        info["classes"] = sorted(p.name for p in folder.iterdir() if p.is_dir()) \
            if folder.is_dir() else []
        return info

    def read(self) -> Raw:
        return read_images(Path(self.path), self.reading(), labelled=True, reader=self.name,
                           stream=self.stream)

    def reading(self) -> dict[str, Any]:
        return {"kind": "images", "size": None if self.size is None else list(self.size),
                "color": self.color, "scale": self.scale}


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
