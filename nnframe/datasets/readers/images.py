"""The ``image_folder`` reader: a folder of class folders of images (or one folder, or one
image), decoded by `nnframe.datasets.image_files`."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import attrs

from nnframe.datasets.image_files import COLORS, read_images
from nnframe.datasets.raw import Raw
from nnframe.datasets.readers.base import FileDataset, as_path_text, check_stream
from nnframe.errors import ConfigError


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
