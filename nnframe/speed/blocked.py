"""The fast path of nnframe's optimizers: their update rules as pure functions over arrays,
updated in place, walked in cache-sized blocks over threads.

`adam_step` (Adam and AdamW), `rmsprop_step` and `sgd_step` (plain, momentum, Nesterov)
compute what the rules written as their maths beside each optimizer compute
(`nnframe.optimizers.adam.adam_rule`, `nnframe.optimizers.rmsprop.rmsprop_rule`,
`nnframe.optimizers.sgd.sgd_rule`: read those first), with a few operations reordered;
tests hold them equal within a few units in the last place. Each takes the parameter
values, their gradients and the optimizer's state arrays (all of one shape and dtype,
usually the network's whole flat buffers) and hyperparameters as Python numbers; nothing
is allocated per call but a few 0-d arrays, and float32 stays float32. They are the NumPy
references of the named kernels (`nnframe.kernels`) that the optimizers opt into where
their options allow.

Why blocks: NumPy has no fused multiply-add, so an update rule is a dozen ufunc passes.
Over whole 20M-element buffers each pass crosses main memory; here the buffers are walked
in blocks of `BLOCK` elements, and a block's dozen passes read and write the five arrays
it touches (values, gradient, two state arrays, one scratch) while they sit in the CPU's
caches, so main memory is crossed about once per array. Measured on a 2-core AMD EPYC
(AVX2, 512 KiB L2 per core, 32 MiB L3), one step on one thread, CPU ms, median of
interleaved runs on a busy shared machine:

==============  =======  ======  ======  ======  =======  =======
step            size     16,384  32,768  65,536  131,072  whole
==============  =======  ======  ======  ======  =======  =======
Adam            235k     0.59    0.53    0.49    0.47     0.51
Adam            2M       7.0     6.4     6.3     6.4      9.7
Adam            20M      83      63      63      64       138
SGD, momentum   235k     0.26    0.26    0.21    0.19     0.20
SGD, momentum   20M      43      33      30      32       49
==============  =======  ======  ======  ======  =======  =======

Smaller blocks pay NumPy's call overhead (about 0.5 us a ufunc call, a dozen calls a
block, more on a busy machine) too often; larger ones gain nothing more. At 65,536 the five
float32 blocks take 1.25 MiB: in L3 rather than L2, but the overhead is what counts.
Hyperparameters enter as 0-d arrays of the buffer's dtype: NumPy's fast path (a Python
float costs about 1.4 us more per call) and no promotion of float32.

What is left is NumPy itself: twelve passes at 0.15-0.25 ns an element each in cache, and
a square root at 0.4-0.8 ns, against PyTorch's fused Adam, which makes one pass (about 1 ns
an element on this machine).

Adam could take two passes fewer by keeping its moments pre-scaled, M = m/(1 - b1) and
V = v/(1 - b2), so that M = b1 M + g and V = b2 V + g^2 lose a multiply each: 0.86-0.90
of the CPU time at 235k elements, 0.92-0.96 at 2M and 20M (``python -m benchmarks.kernels
--forms``). It is not done: model files keep torch's m and v, and in float32 the round
trip M -> m -> M changes 13.5% of the M and 1.7% of the V by an ulp, so a run resumed from
a file would no longer continue exactly as the run that wrote it; keeping it exact would
take a second pair of arrays in every file. The gain, 1-1.5% of an mlp epoch, is
smaller than that cost (with nnframe-numba the step is one fused loop anyway).

Buffers of at least two `PARALLEL_MIN` pieces are cut into contiguous runs of blocks that
the threads claim (`nnframe.speed.parallel`, when a core is free): NumPy releases the GIL inside
each pass. Every
element goes through the same operations whatever the blocks and threads, so the results
are identical with one thread or many, and for one buffer or one array per parameter.
Arrays that are not contiguous are updated whole, with scratch arrays of their shape.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence

import numpy as np

from nnframe.speed import parallel

#: Elements per block; see the module docstring for the measurements.
BLOCK = 65_536
#: Buffers up to this many elements are updated whole: their five arrays stay in L3 anyway,
#: and one pass per operation costs fewer calls than blocks. Adam, one thread, CPU ms, min
#: of 7 interleaved runs: 235k 0.40 whole against 0.46 in blocks, 336k 0.65 against 0.73,
#: 500k 1.08 against 1.10, 1M 3.25 against 3.22; 2M 11.7 against 6.4.
WHOLE_MAX = 1 << 19
#: Elements per piece below which handing a piece to another thread does not pay (tens
#: of microseconds, against about 0.15 ms for 65,536 elements of Adam): one block.
PARALLEL_MIN = BLOCK

Rule = Callable[[Sequence[np.ndarray], Sequence[np.ndarray], tuple], None]

_local = threading.local()
_add, _subtract, _multiply, _divide, _sqrt = (np.add, np.subtract, np.multiply, np.divide,
                                              np.sqrt)


# -- the rules, on one block each --------------------------------------------------------


def _adam_rule(arrays: Sequence[np.ndarray], scratch: Sequence[np.ndarray],
               scalars: tuple) -> None:
    """m += (1 - b1)(g - m); v = b2 v + (1 - b2) g^2; p -= step * m / (sqrt(v) + eps_hat)."""
    p, g, m, v = arrays
    t, u = scratch
    one_minus_b1, b2, one_minus_b2, eps_hat, step_hat, decay, decoupled = scalars
    if decay is not None:
        if decoupled:  # AdamW: p *= 1 - lr * weight_decay, before the update
            _multiply(p, decay, p)
        else:  # Adam's L2 penalty: the gradient is g + weight_decay * p
            _multiply(p, decay, u)
            _add(u, g, u)
            g = u
    _subtract(g, m, t)  # torch: exp_avg.lerp_(grad, 1 - beta1)
    _multiply(t, one_minus_b1, t)
    _add(m, t, m)
    _multiply(v, b2, v)  # torch: exp_avg_sq.mul_(beta2).addcmul_(grad, grad, 1 - beta2)
    _multiply(g, g, t)
    _multiply(t, one_minus_b2, t)
    _add(v, t, v)
    _sqrt(v, t)
    _add(t, eps_hat, t)
    _divide(m, t, t)
    _multiply(t, step_hat, t)
    _subtract(p, t, p)


def _rmsprop_rule(arrays: Sequence[np.ndarray], scratch: Sequence[np.ndarray],
                  scalars: tuple) -> None:
    """s = alpha s + (1 - alpha) g^2; d = g / (sqrt(s) + eps); with momentum b = mu b + d;
    p -= lr * (b or d)."""
    p, g, square_avg, *buffer = arrays
    (t,) = scratch
    alpha, one_minus_alpha, eps, lr, momentum = scalars
    _multiply(square_avg, alpha, square_avg)
    _multiply(g, g, t)
    _multiply(t, one_minus_alpha, t)
    _add(square_avg, t, square_avg)
    _sqrt(square_avg, t)
    _add(t, eps, t)
    _divide(g, t, t)
    if buffer:
        (b,) = buffer
        _multiply(b, momentum, b)
        _add(b, t, b)
        _multiply(b, lr, t)
    else:
        _multiply(t, lr, t)
    _subtract(p, t, p)


def _sgd_rule(arrays: Sequence[np.ndarray], scratch: Sequence[np.ndarray],
              scalars: tuple) -> None:
    """p -= lr g; with momentum b = mu b + g, then p -= lr b (Nesterov: lr (g + mu b))."""
    p, g, *velocity = arrays
    (t,) = scratch
    lr, momentum, nesterov = scalars
    if not velocity:
        _multiply(g, lr, t)
    else:
        (b,) = velocity
        _multiply(b, momentum, b)
        _add(b, g, b)
        if nesterov:
            _multiply(b, momentum, t)
            _add(t, g, t)
            _multiply(t, lr, t)
        else:
            _multiply(b, lr, t)
    _subtract(p, t, p)


# -- the public functions ----------------------------------------------------------------


def adam_step(values: np.ndarray, grads: np.ndarray, m: np.ndarray, v: np.ndarray, *,
              lr: float, beta1: float, beta2: float, eps: float, step: int,
              weight_decay: float = 0.0, decoupled: bool = False) -> None:
    """One Adam step (torch.optim.Adam), or AdamW's with ``decoupled=True``.

    ``step`` counts from 1 (bias correction); ``m`` and ``v`` are the first and second
    moments. ``weight_decay`` adds ``weight_decay * values`` to the gradient (Adam's L2
    penalty) or, decoupled, multiplies the values by ``1 - lr * weight_decay`` first.
    """
    if step < 1:
        raise ValueError(f"adam_step: step counts from 1, got {step}")
    # p -= lr/(1 - b1^t) * m / (sqrt(v)/sqrt(1 - b2^t) + eps), with sqrt(1 - b2^t) moved
    # out of the denominator: one pass fewer, the same value up to rounding.
    root = math.sqrt(1.0 - beta2**step)
    dtype = values.dtype
    decay = None
    if weight_decay:
        decay = _scalar(1.0 - lr * weight_decay if decoupled else weight_decay, dtype)
    scalars = (_scalar(1.0 - beta1, dtype), _scalar(beta2, dtype), _scalar(1.0 - beta2, dtype),
               _scalar(eps * root, dtype), _scalar(lr / (1.0 - beta1**step) * root, dtype),
               decay, decoupled)
    _apply(_adam_rule, (values, grads, m, v), scalars, scratch=2)


def adamw_step(values: np.ndarray, grads: np.ndarray, m: np.ndarray, v: np.ndarray, *,
               lr: float, beta1: float, beta2: float, eps: float, step: int,
               weight_decay: float) -> None:
    """One AdamW step (torch.optim.AdamW): `adam_step` with the weight decay decoupled,
    the values multiplied by ``1 - lr * weight_decay`` before the update."""
    adam_step(values, grads, m, v, lr=lr, beta1=beta1, beta2=beta2, eps=eps, step=step,
              weight_decay=weight_decay, decoupled=True)


def rmsprop_step(values: np.ndarray, grads: np.ndarray, square_avg: np.ndarray, *,
                 lr: float, alpha: float, eps: float, momentum: float = 0.0,
                 momentum_buffer: np.ndarray | None = None) -> None:
    """One RMSprop step (torch.optim.RMSprop, not centered); ``momentum_buffer`` is needed
    when ``momentum`` is not 0."""
    arrays = [values, grads, square_avg]
    if momentum:
        if momentum_buffer is None:
            raise ValueError("rmsprop_step: momentum needs a momentum_buffer")
        arrays.append(momentum_buffer)
    dtype = values.dtype
    scalars = (_scalar(alpha, dtype), _scalar(1.0 - alpha, dtype), _scalar(eps, dtype),
               _scalar(lr, dtype), _scalar(momentum, dtype))
    _apply(_rmsprop_rule, tuple(arrays), scalars, scratch=1)


def sgd_step(values: np.ndarray, grads: np.ndarray, velocity: np.ndarray | None = None, *,
             lr: float, momentum: float = 0.0, nesterov: bool = False) -> None:
    """One SGD step (torch.optim.SGD): plain, or with (Nesterov) momentum in ``velocity``.

    torch starts the velocity at the first gradient; starting from zeros gives exactly
    that, since mu * 0 + g is g.
    """
    arrays = [values, grads]
    if momentum:
        if velocity is None:
            raise ValueError("sgd_step: momentum needs a velocity array")
        arrays.append(velocity)
    elif nesterov:
        raise ValueError("sgd_step: nesterov needs a momentum > 0")
    dtype = values.dtype
    scalars = (_scalar(lr, dtype), _scalar(momentum, dtype), nesterov)
    _apply(_sgd_rule, tuple(arrays), scalars, scratch=1)


# -- blocks and threads ------------------------------------------------------------------


def _scalar(value: float, dtype: np.dtype) -> np.ndarray:
    return np.array(value, dtype)


def _apply(rule: Rule, arrays: tuple[np.ndarray, ...], scalars: tuple, scratch: int) -> None:
    """Run ``rule`` over ``arrays`` block by block, on one thread or several."""
    first = arrays[0]
    for array in arrays[1:]:
        if array.shape != first.shape or array.dtype != first.dtype:
            raise ValueError(f"optimizer kernels need arrays of one shape and dtype, got "
                             f"{first.shape} {first.dtype} and {array.shape} {array.dtype}")
    if not all(a.flags.c_contiguous for a in arrays):
        rule(arrays, [np.empty_like(first) for _ in range(scratch)], scalars)
        return
    size = first.size
    if size <= WHOLE_MAX:  # the common case, kept short: a step of a small model is ~20 us
        rule(arrays if first.ndim == 1 else [a.reshape(-1) for a in arrays],
             _whole_scratch(first.dtype, scratch, size), scalars)
        return
    flat = [a.reshape(-1) for a in arrays]  # views: every array is contiguous
    block = size if size <= WHOLE_MAX else BLOCK

    def blocks(start: int, stop: int) -> None:
        work = _scratch(first.dtype, scratch, block)
        if stop - start <= block:
            rule(flat if stop - start == size else [a[start:stop] for a in flat],
                 [w[:stop - start] for w in work], scalars)
            return
        for low in range(start, stop, block):
            high = min(low + block, stop)
            rule([a[low:high] for a in flat], [w[:high - low] for w in work], scalars)

    if size < 2 * PARALLEL_MIN:
        blocks(0, size)
    else:
        parallel.run(blocks, size, min_chunk=PARALLEL_MIN, align=block)


def _whole_scratch(dtype: np.dtype, count: int, size: int) -> list[np.ndarray]:
    """`_scratch` for a whole buffer of ``size`` elements on this thread: the same views
    every step, found with one lookup."""
    try:
        views = _local.whole
    except AttributeError:
        views = _local.whole = {}
    key = (dtype, count, size)
    found = views.get(key)
    if found is None:
        if len(views) > 8:  # buffers of many sizes: keep the latest few
            views.clear()
        found = views[key] = [w[:size] for w in _scratch(dtype, count, size)]
    return found


def _scratch(dtype: np.dtype, count: int, block: int) -> list[np.ndarray]:
    """``count`` scratch arrays of ``block`` elements of ``dtype``, one set per thread,
    reused from step to step."""
    try:
        spaces = _local.spaces
    except AttributeError:
        spaces = _local.spaces = {}
    space = spaces.get(dtype)
    if space is None or space.shape[0] < count or space.shape[1] < block:
        space = spaces[dtype] = np.empty((max(count, 2), block), dtype)
    return [space[i] for i in range(count)]
