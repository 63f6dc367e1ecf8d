"""Reading NumPy files: one ``.npy`` array (memory-mapped, never unpickled) or members of
an ``.npz`` archive, refused with a `DataError` when they do not hold numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nnframe.errors import DataError
from nnframe.modelfile.regular_files import open_regular


def load_npy(path: str | Path, what: str) -> np.ndarray:
    """One ``.npy`` array, memory-mapped (never unpickled), or a `DataError`."""
    path = Path(path)
    with open_regular(path, what, DataError):
        pass  # refuses a directory, FIFO or device by name before NumPy opens it
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise DataError(f"{path}: not a .npy array file ({exc}); save arrays with "
                        "numpy.save") from None
    if not isinstance(array, np.ndarray):
        raise DataError(f"{path}: holds several arrays; give one .npy array")
    return numbers(array, str(path))


def numbers(array: np.ndarray, where: str) -> np.ndarray:
    if array.dtype.kind not in "biuf":
        raise DataError(f"{where}: holds {array.dtype} values, not numbers")
    if array.ndim == 0:
        raise DataError(f"{where}: holds one number; give a batch (N, ...)")
    return array


def load_npz(path: str | Path, x_name: str, y_name: str | None, what: str = "data file",
             inputs: bool = True) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Members ``x_name`` and (when present) ``y_name`` of an ``.npz`` archive (``what``
    names the file in messages); ``inputs`` False leaves ``x_name`` unread (None)."""
    path = Path(path)
    with open_regular(path, what, DataError) as file:
        try:
            with np.load(file, allow_pickle=False) as archive:
                names = list(archive.files)
                if x_name not in names:
                    raise DataError(f"{path}: has no array {x_name!r}; it holds "
                                    f"{', '.join(names) or 'nothing'} (set x to the inputs' "
                                    "name)")
                x = archive[x_name] if inputs else None
                y = archive[y_name] if y_name is not None and y_name in names else None
        except DataError:
            raise
        except (OSError, ValueError, EOFError) as exc:
            raise DataError(f"{path}: not a .npz archive of arrays ({exc})") from None
    where = f"{path}"
    return None if x is None else numbers(x, f"{where}[{x_name!r}]"), (
        None if y is None else numbers(y, f"{where}[{y_name!r}]"))
