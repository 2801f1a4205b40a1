"""Scratch memory reused across calls.

A fresh multi-megabyte NumPy array is fresh pages from the operating system: the
first touch of every 4 KiB page is a page fault (about a microsecond each), which in
the weight-sensitivity engine cost more than the arithmetic on some arrays. Buffers
taken here and given back when the caller is done are reused instead. A buffer is
only reused after it is given back, so nothing a caller still holds is overwritten;
a buffer never given back is simply freed by the garbage collector.
"""

from __future__ import annotations

import os
import threading

import numpy as np

__all__ = ["give", "take"]

# Keep at most this many bytes of free buffers.
_CAP_BYTES = 256_000_000

_state: dict = {}


def _pool() -> tuple[list, threading.Lock]:
    # per process: a forked child must not wait on a lock its parent held
    pid = os.getpid()
    if _state.get("pid") != pid:
        _state.clear()
        _state.update(pid=pid, free=[], lock=threading.Lock())
    return _state["free"], _state["lock"]


def take(shape: tuple[int, ...] | int, dtype: type | np.dtype, *,
         zero: bool = False) -> np.ndarray:
    """An array of ``shape`` and ``dtype`` backed by a reused buffer (contents
    undefined unless ``zero``); give its ``.base`` back with :func:`give`."""
    dtype = np.dtype(dtype)
    n = int(np.prod(shape)) * dtype.itemsize
    free, lock = _pool()
    buf = None
    with lock:
        # the smallest free buffer that fits, if not more than four times too large
        fits = [i for i, b in enumerate(free) if n <= b.nbytes <= 4 * max(n, 1)]
        if fits:
            buf = free.pop(min(fits, key=lambda i: free[i].nbytes))
    if buf is None:
        buf = np.empty(max(n, 1), dtype=np.uint8)
    out = buf[:n].view(dtype).reshape(shape)
    if zero:
        out.fill(0)
    return out


def give(arr: np.ndarray | None) -> None:
    """Give back an array from :func:`take` (its buffer) for later calls."""
    if arr is None:
        return
    buf = arr
    while buf.base is not None:
        buf = buf.base
    if not isinstance(buf, np.ndarray) or buf.dtype != np.uint8 or buf.ndim != 1:
        return
    free, lock = _pool()
    with lock:
        if any(b is buf for b in free):
            return
        free.append(buf)
        free.sort(key=lambda b: b.nbytes)
        while sum(b.nbytes for b in free) > _CAP_BYTES:
            free.pop()          # drop the largest
