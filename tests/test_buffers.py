"""dtistat._buffers: scratch memory reused only after it is given back."""

import numpy as np

from dtistat import _buffers


def test_reused_only_after_give():
    a = _buffers.take((1000, 3), np.int64, zero=True)
    assert a.shape == (1000, 3) and a.dtype == np.int64 and not a.any()
    a[:] = 7
    b = _buffers.take((1000, 3), np.int64)          # a is still held: a new buffer
    assert not np.shares_memory(a, b)
    _buffers.give(a)
    c = _buffers.take(2500, np.int32, zero=True)    # fits a's buffer: reused, zeroed
    assert np.shares_memory(a, c) and not c.any()
    assert (b.shape, b.dtype) == ((1000, 3), np.int64)
    _buffers.give(b)
    _buffers.give(c)
    _buffers.give(c)                                  # twice: kept once
    root = c
    while root.base is not None:
        root = root.base
    free, _ = _buffers._pool()
    assert sum(x is root for x in free) == 1


def test_too_large_buffers_are_not_handed_out_for_small_requests():
    big = _buffers.take(1_000_000, np.float64)
    _buffers.give(big)
    small = _buffers.take(10, np.float64)
    assert not np.shares_memory(big, small)


def test_arrays_not_from_take_are_ignored():
    _buffers.give(np.zeros(10))                       # not a uint8 buffer: dropped
    _buffers.give(None)
    free, _ = _buffers._pool()
    assert all(b.dtype == np.uint8 and b.ndim == 1 for b in free)
