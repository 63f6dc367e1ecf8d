"""The optimizer step sharded across processes: each updates its slice of the buffers.

With data parallelism every process would otherwise take the whole optimizer step on
the whole model, work that does not shrink with the number of processes. An optimizer
whose rule is element-wise (it says so: ``elementwise = True``, see `is_elementwise`)
gives the same result on any slice of the flat parameter buffer as on the whole, so
process ``r`` of ``N`` updates only its contiguous slice ``[start, stop)`` of the
values, from the summed gradient of that slice, with optimizer state for that slice
only; the processes then gather each other's slices of the values.

This module holds what needs no MPI: where the slices fall (`Shard.of`), the
`ParameterGroup` of one slice that the optimizer steps (pieces of the network's
parameters, under their keys), and the conversion of an optimizer's state between the
whole layout that model files hold and one slice (`slice_state`, `whole_state`).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np

from nnframe.core.contracts import ParameterGroup
from nnframe.core.contracts.optimizer import ALIGNMENT_BYTES, Parameter, aligned_zeros


def is_elementwise(optimizer: Any) -> bool:
    """Whether ``optimizer`` says its update is element-wise (``elementwise = True`` on its
    class), so that it may step a slice of the buffers: anything else takes the whole
    step on every process."""
    return getattr(type(optimizer), "elementwise", False) is True


@attrs.define(eq=False)
class Shard:
    """This process's slice of a group's flat buffers, and every process's.

    ``bounds`` has one more entry than there are processes: process ``r`` owns
    ``[bounds[r], bounds[r + 1])``. ``group`` is the slice as a `ParameterGroup`: its
    ``values`` a view of the network's, its ``grads`` a buffer of its own that receives
    the summed gradient of the slice; its parameters are the pieces of the network's
    parameters that fall in the slice, flat, under the same keys.
    """

    bounds: tuple[int, ...] = attrs.field(converter=tuple)
    rank: int
    group: ParameterGroup = attrs.field(repr=False)
    whole: ParameterGroup = attrs.field(repr=False)

    @classmethod
    def of(cls, whole: ParameterGroup, rank: int, size: int) -> Shard | None:
        """Rank ``rank``'s slice of ``whole`` split ``size`` ways: equal slices when the
        buffer divides evenly (MPI gathers equal blocks in place several times faster
        than blocks of different sizes), else slices that each start on an
        `ALIGNMENT_BYTES` boundary; None when the buffer is too small for every process
        to get a good part of it."""
        total = len(whole.values)
        step = max(1, ALIGNMENT_BYTES // whole.values.dtype.itemsize)
        if total < size * step:
            return None
        if total % size == 0:
            bounds = [total // size * r for r in range(size)]
        else:
            bounds = [min(total, round(total * r / size / step) * step) for r in range(size)]
        bounds.append(total)
        if any(b <= a for a, b in itertools.pairwise(bounds)):
            return None
        start, stop = bounds[rank], bounds[rank + 1]
        grads = aligned_zeros(stop - start, whole.values.dtype)
        pieces, spans = [], []
        for parameter, (first, last) in zip(whole, whole.spans, strict=True):
            low, high = max(first, start), min(last, stop)
            if low < high:
                pieces.append(Parameter(parameter.key, whole.values[low:high],
                                        grads[low - start:high - start]))
                spans.append((low - start, high - start))
        group = ParameterGroup(whole.values[start:stop], grads, pieces, spans)
        return cls(bounds, rank, group, whole)

    @property
    def start(self) -> int:
        return self.bounds[self.rank]

    @property
    def stop(self) -> int:
        return self.bounds[self.rank + 1]

    @property
    def even(self) -> bool:
        """Whether every process owns as many elements."""
        return len(set(self.counts)) == 1

    @property
    def counts(self) -> list[int]:
        """How many elements each process owns."""
        return [b - a for a, b in itertools.pairwise(self.bounds)]

    @property
    def displacements(self) -> list[int]:
        """Where each process's slice starts."""
        return list(self.bounds[:-1])

    def slice_state(self, state: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """An optimizer's whole state (`state_dict` layout: ``"key/slot"`` arrays shaped
        like the parameter ``key``, and values shared by every element such as
        ``iterations``) cut to this slice: the pieces of the per-parameter arrays that
        fall in it, flat; the shared values as they are."""
        spans = self._spans()
        mine = {piece.key: (start + self.start, stop + self.start)
                for piece, (start, stop) in zip(self.group, self.group.spans, strict=True)}
        sliced = {}
        for name, array in state.items():
            key, _ = _split_name(name)
            if key not in spans or np.size(array) != spans[key][1] - spans[key][0]:
                sliced[name] = array
            elif key in mine:
                first = spans[key][0]
                low, high = mine[key]
                sliced[name] = np.asarray(array).reshape(-1)[low - first:high - first].copy()
        return sliced

    def local_slots(self, state: Mapping[str, np.ndarray]) -> dict[str, np.dtype]:
        """The per-parameter slot names of a sliced state, in order, with their dtype."""
        sizes = {piece.key: len(piece.value) for piece in self.group}
        slots: dict[str, np.dtype] = {}
        for name, array in state.items():
            key, slot = _split_name(name)
            if key in sizes and np.size(array) == sizes[key]:
                slots.setdefault(slot, np.asarray(array).dtype)
        return slots

    def fill(self, buffer: np.ndarray, state: Mapping[str, np.ndarray], slot: str) -> None:
        """Write this slice's pieces of ``slot`` (from a sliced state) into ``buffer``,
        a whole flat buffer laid out like the values."""
        for piece, (start, stop) in zip(self.group, self.group.spans, strict=True):
            array = state.get(f"{piece.key}/{slot}")
            if array is not None:
                buffer[self.start + start:self.start + stop] = np.asarray(array).reshape(-1)

    def whole_state(self, buffers: Mapping[str, np.ndarray],
                    shared: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The whole state from one whole flat buffer per slot (every process's slices
        gathered) and the values shared by every element: per parameter and slot, in
        parameter order, shaped like the parameter; then the shared values."""
        state = {}
        for parameter, (start, stop) in zip(self.whole, self.whole.spans, strict=True):
            for slot, buffer in buffers.items():
                state[f"{parameter.key}/{slot}"] = buffer[start:stop].reshape(
                    parameter.value.shape)
        state.update(shared)
        return state

    def shared_values(self, state: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The entries of a sliced state that are not per-parameter pieces."""
        sizes = {piece.key: len(piece.value) for piece in self.group}
        return {name: array for name, array in state.items()
                if not (_split_name(name)[0] in sizes
                        and np.size(array) == sizes[_split_name(name)[0]])}

    def _spans(self) -> dict[str, tuple[int, int]]:
        return {p.key: span for p, span in zip(self.whole, self.whole.spans, strict=True)}


def _split_name(name: str) -> tuple[str, str]:
    """``"0.weights/m"`` as ``("0.weights", "m")``; a name without a slash as
    ``("", name)``."""
    key, _, slot = name.rpartition("/")
    return key, slot
