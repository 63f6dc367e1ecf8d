"""`Raw`: rows as a reader read them from the user's files, before a schema codes them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

if TYPE_CHECKING:
    from nnframe.datasets.tables import Table


@attrs.frozen
class Raw:
    """Rows as a reader read them: inputs (a `Table` of feature columns, or an array of
    samples) and their targets (text or numbers; None when the file has none)."""

    source: str
    """The file or folder, as messages name it."""
    reader: str
    """The reader's registered name (``"csv"``), which a schema keeps to read more rows."""
    inputs: Table | np.ndarray = attrs.field(repr=False)
    targets: np.ndarray | None = attrs.field(default=None, repr=False)
    target_names: tuple[str, ...] = ()
    """The target columns (tables), for the predictions' header."""
    class_names: tuple[str, ...] | None = None
    """Class names the data itself gives (image folders' sub-folders), the targets then
    being indices into them."""
    reading: dict[str, Any] = attrs.field(factory=dict)
    """How to read more rows of this format (delimiter, image size...), JSON-safe."""
    names: tuple[str, ...] | None = None
    """Per row, where it came from (image files), for predictions."""

    def __len__(self) -> int:
        return len(self.inputs)

    def take(self, rows: np.ndarray) -> Raw:
        """The rows at ``rows``."""
        inputs = self.inputs.take(rows) if hasattr(self.inputs, "columns") else \
            self.inputs[rows]
        targets = None if self.targets is None else self.targets[rows]
        names = None if self.names is None else tuple(self.names[i] for i in rows)
        return attrs.evolve(self, inputs=inputs, targets=targets, names=names)

    def where(self, row: int) -> str:
        where = getattr(self.inputs, "where", None)
        if callable(where):  # a table (rows streamed from a file name theirs otherwise)
            return where(row)
        if hasattr(self.inputs, "row_where"):
            return self.inputs.row_where(int(self.inputs.positions([row])[0]))
        if self.names is not None:
            return self.names[row]
        return f"{self.source}: sample {row}"
