"""The sharded optimizer step without MPI (`nnframe.distributed.sharding`): where the
slices fall, the state cut to a slice and put back together, and the built-in update
rules stepping slices as they step the whole buffer (what lets them say
``elementwise = True``). The runs on two processes are in tests/test_mpi.py."""

from __future__ import annotations

import itertools

import attrs
import numpy as np
import pytest

import nnframe
from nnframe.core.contracts import Optimizer, ParameterGroup
from nnframe.core.contracts.optimizer import ALIGNMENT_BYTES
from nnframe.distributed.sharding import Shard, is_elementwise

SHAPES = {"0.weights": (7, 13), "0.bias": (13,), "2.weights": (13, 5), "2.bias": (5,),
          "4.scale": (1,)}

#: every built-in rule, with the options that take another code path or more state
OPTIMIZERS = [
    ("sgd", {"momentum": 0.9}), ("sgd", {"momentum": 0.9, "nesterov": True}),
    ("sgd", {"momentum": 0.5, "dampening": 0.1, "weight_decay": 0.01}),
    ("adam", {}), ("adam", {"amsgrad": True, "weight_decay": 0.01}), ("adamw", {}),
    ("rmsprop", {"momentum": 0.5}), ("rmsprop", {"centered": True, "weight_decay": 0.01}),
]


def group_of(seed: int = 0, dtype: type = np.float32) -> ParameterGroup:
    group = ParameterGroup.allocate(SHAPES, dtype)
    rng = np.random.default_rng(seed)
    for parameter in group:
        parameter.value[...] = rng.standard_normal(parameter.value.shape)
    return group


def set_gradients(group: ParameterGroup, rng: np.random.Generator) -> None:
    for parameter in group:
        parameter.grad[...] = rng.standard_normal(parameter.grad.shape)


@pytest.mark.parametrize("size", [1, 2, 3, 4])
def test_the_slices_cover_the_buffer_once_each_aligned(size):
    group = group_of()  # 209 elements: no number of processes but one divides them
    shards = [Shard.of(group, rank, size) for rank in range(size)]
    step = ALIGNMENT_BYTES // 4
    assert shards[0].start == 0 and shards[-1].stop == len(group.values)
    for before, after in itertools.pairwise(shards):
        assert before.stop == after.start and after.start % step == 0
    assert sum(shards[0].counts) == len(group.values)
    assert max(shards[0].counts) - min(shards[0].counts) <= step
    assert shards[0].even == (size == 1)
    for shard in shards:  # the pieces are views of the network's values
        assert np.shares_memory(shard.group.values, group.values)
        for piece, (start, stop) in zip(shard.group, shard.group.spans, strict=True):
            assert piece.value.base is not None and piece.value.size == stop - start
            assert piece.key in SHAPES


def test_a_buffer_that_divides_evenly_is_cut_in_equal_slices():
    group = ParameterGroup.allocate({"0.weights": (784, 256), "0.bias": (256,),
                                     "2.weights": (256, 10), "2.bias": (10,)})
    assert len(group.values) % 2 == 0 and len(group.values) % 3 != 0
    halves = [Shard.of(group, rank, 2) for rank in range(2)]
    assert halves[0].even and halves[0].counts == [len(group.values) // 2] * 2
    assert halves[1].start == len(group.values) // 2
    assert not Shard.of(group, 0, 3).even


def test_a_buffer_too_small_to_share_is_not_sharded():
    group = ParameterGroup.allocate({"0.bias": (20,)})
    assert Shard.of(group, 0, 2) is None  # 20 floats: less than one 64-byte line each
    assert Shard.of(group, 0, 1) is not None


def test_the_state_cut_to_slices_and_gathered_is_the_whole_state():
    group = group_of()
    rng = np.random.default_rng(1)
    whole = {f"{key}/{slot}": rng.standard_normal(shape).astype(np.float32)
             for key, shape in SHAPES.items() for slot in ("m", "v")}
    whole["iterations"] = np.asarray(3, np.int64)
    shards = [Shard.of(group, rank, 3) for rank in range(3)]
    sliced = [shard.slice_state(whole) for shard in shards]
    buffers = {}
    for slot in ("m", "v"):
        buffers[slot] = np.zeros(len(group.values), np.float32)
        for shard, state in zip(shards, sliced, strict=True):
            assert list(shard.local_slots(state)) == ["m", "v"]
            shard.fill(buffers[slot], state, slot)
    again = shards[0].whole_state(buffers, shards[0].shared_values(sliced[0]))
    assert list(again) == [f"{key}/{slot}" for key in SHAPES for slot in ("m", "v")] + [
        "iterations"]
    for name, array in whole.items():
        np.testing.assert_array_equal(again[name], array)
    assert sum(state["0.weights/m"].size for state in sliced if "0.weights/m" in state) \
        == 7 * 13


@pytest.mark.parametrize(("name", "settings"), OPTIMIZERS)
@pytest.mark.parametrize("size", [2, 3])
def test_the_built_in_rules_step_slices_as_the_whole_buffer(name, settings, size):
    """Three steps (so that every state slot is used after its first value), each
    process's optimizer holding the state of its slice alone, give the whole step's
    values and state, bit for bit."""
    whole_group, rng = group_of(), np.random.default_rng(2)
    whole = nnframe.optimizer(name, learning_rate=0.01, **settings)
    groups = [group_of() for _ in range(size)]  # one network per process
    shards = [Shard.of(group, rank, size) for rank, group in enumerate(groups)]
    optimizers = [nnframe.optimizer(name, learning_rate=0.01, **settings)
                  for _ in range(size)]
    for _ in range(3):
        set_gradients(whole_group, rng)
        whole.step(whole_group)
        for shard, optimizer in zip(shards, optimizers, strict=True):
            shard.group.grads[...] = whole_group.grads[shard.start:shard.stop]
            optimizer.step(shard.group)
        for shard, group in zip(shards, groups, strict=True):  # the all-gather
            for other in groups:
                other.values[shard.start:shard.stop] = group.values[shard.start:shard.stop]
    for group in groups:
        np.testing.assert_array_equal(group.values, whole_group.values)
    sliced = [optimizer.state_dict() for optimizer in optimizers]
    slots = shards[0].local_slots(sliced[0])
    buffers = {slot: np.zeros(len(whole_group.values), dtype) for slot, dtype in slots.items()}
    for shard, state in zip(shards, sliced, strict=True):
        for slot, buffer in buffers.items():
            shard.fill(buffer, state, slot)
    gathered = shards[0].whole_state(buffers, shards[0].shared_values(sliced[0]))
    expected = whole.state_dict()
    assert sorted(gathered) == sorted(expected)
    for key, array in expected.items():
        np.testing.assert_array_equal(gathered[key], array, err_msg=key)
        assert gathered[key].dtype == array.dtype


@attrs.define(eq=False)
class Undeclared(Optimizer):
    learning_rate: float = 0.1

    def step(self, parameters):
        parameters.values -= self.learning_rate * parameters.grads


@attrs.define(eq=False)
class Declared(Undeclared):
    elementwise = True


class ProtocolOnly:
    elementwise = True
    learning_rate = 0.1


def test_an_optimizer_is_element_wise_only_when_its_class_says_so():
    assert Optimizer.elementwise is False
    assert not is_elementwise(Undeclared())
    assert is_elementwise(Declared())
    assert is_elementwise(ProtocolOnly())
    assert not is_elementwise(object())
