"""Held-out splits: shuffled with the run's seed and stratified by class, every time alike.

Stratified as scikit-learn's ``train_test_split(stratify=...)`` means it: each class keeps
its share in both parts. The same seed, labels and fraction give the same rows always.
"""

from __future__ import annotations

import numpy as np

from nnframe.errors import DataError


def split_rows(count: int, fraction: float, seed: int | None,
               labels: np.ndarray | None = None, what: str = "held-out"
               ) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (kept, held out), each sorted: about ``fraction`` of ``count`` rows held
    out, drawn with ``numpy.random.default_rng(seed)``; with ``labels`` (one class label
    per row) every class gives its share of them.
    """
    if not 0.0 < fraction < 1.0:
        raise DataError(f"the {what} fraction must be in (0, 1), got {fraction!r}")
    rng = np.random.default_rng(seed)
    if labels is None:
        order = rng.permutation(count)
        held = round(count * fraction)
        chosen = order[:held]
    else:
        labels = np.asarray(labels)
        if len(labels) != count:
            raise DataError(f"{len(labels)} class labels for {count} rows")
        classes, codes = np.unique(labels, return_inverse=True)
        codes = codes.reshape(-1)
        sizes = np.bincount(codes, minlength=len(classes))
        takes = _shares(sizes, round(count * fraction))
        chosen_parts = []
        for code, take in enumerate(takes):
            rows = np.flatnonzero(codes == code)
            chosen_parts.append(rows[rng.permutation(len(rows))][:take])
        chosen = np.concatenate(chosen_parts) if chosen_parts else np.zeros(0, np.intp)
    if len(chosen) == 0 or len(chosen) == count:
        raise DataError(f"a {what} split of {fraction} leaves no training or no {what} "
                        f"rows out of {count}")
    mask = np.zeros(count, dtype=bool)
    mask[chosen] = True
    return np.flatnonzero(~mask), np.flatnonzero(mask)


def _shares(sizes: np.ndarray, total: int) -> list[int]:
    """Rows to hold out per class, ``total`` in all, each class in proportion to its size
    (largest remainders round up, the larger class first on a tie)."""
    exact = sizes * (total / max(int(sizes.sum()), 1))
    takes = np.floor(exact).astype(int)
    remainder = exact - takes
    order = sorted(range(len(sizes)), key=lambda c: (-remainder[c], -sizes[c], c))
    for code in order[: total - int(takes.sum())]:
        takes[code] += 1
    return [int(t) for t in np.minimum(takes, sizes)]
