"""`CSVLogger`: every epoch's logs as a row of a CSV file."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any, ClassVar

from nnframe.core.contracts import Callback
from nnframe.errors import ConfigError, ModelFileError
from nnframe.modelfile.atomic import write_atomic


class CSVLogger(Callback):
    """Write the epoch number and every log value (loss, metrics, validation scores) as one
    CSV row per epoch; the file is rewritten atomically after each epoch, so it is always
    complete. With ``append`` the rows of an existing file are kept (a resumed run)."""

    #: `nnframe check` builds it with a file name (nothing is written).
    check_hints: ClassVar[dict] = {"config": {"path": "training.csv"}}
    root_only = True  # one process writes the file

    def __init__(self, path: str | os.PathLike[str], append: bool = False,
                 separator: str = ",") -> None:
        if not isinstance(separator, str) or len(separator) != 1 or separator in '\r\n"':
            raise ConfigError(f"CSVLogger: separator must be one character other than a line "
                              f"break or a quote, got {separator!r}")
        self.path = os.fspath(path)
        self.append = bool(append)
        self.separator = separator
        self._rows: list[dict[str, Any]] = []

    def output_paths(self) -> list[str]:
        """The CSV file (checked before training)."""
        return [self.path]

    def on_train_begin(self, logs: dict[str, Any]) -> None:
        self._rows = self._existing_rows() if self.append else []

    def _existing_rows(self) -> list[dict[str, Any]]:
        try:
            with open(self.path, newline="", encoding="utf-8") as file:
                return list(csv.DictReader(file, delimiter=self.separator))
        except FileNotFoundError:
            return []
        except (OSError, csv.Error, UnicodeDecodeError) as exc:
            raise ConfigError(f"CSVLogger cannot append to {self.path}: {exc}") from None

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        self._rows.append({"epoch": epoch + 1, **logs})
        columns: list[str] = []
        for row in self._rows:
            columns += [key for key in row if key not in columns]
        text = io.StringIO()
        writer = csv.DictWriter(text, columns, delimiter=self.separator, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self._rows)
        data = text.getvalue().encode("utf-8")
        try:
            write_atomic(Path(self.path), lambda file: file.write(data))
        except OSError as exc:
            raise ModelFileError(f"CSVLogger cannot write {self.path}: "
                                 f"{exc.strerror or exc}") from None
