"""Memory budget of a sensitivity analysis: what the machine has, and a clear refusal.

The engine estimates what it will allocate before it allocates it and refuses a
request that would not fit with a :class:`~dtistat.errors.ParameterError` that says
what would, never a NumPy ``MemoryError`` half-way through.
"""

from __future__ import annotations

import numbers
import os
from typing import Any

from dtistat.errors import ParameterError

__all__ = ["available", "check", "check_max_memory", "gib"]

# Share of the available memory the engine may use when the caller sets no limit.
_SHARE = 0.8


def gib(nbytes: float) -> str:
    """``nbytes`` in GiB (or MiB below one GiB), for messages."""
    if nbytes >= 2**30:
        return f"{nbytes / 2**30:,.1f} GiB"
    return f"{nbytes / 2**20:,.0f} MiB"


def available() -> int:
    """Bytes of memory available to this process now: ``MemAvailable`` of
    ``/proc/meminfo`` on Linux, psutil where installed, else half the physical memory."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import psutil
        return int(psutil.virtual_memory().available)
    except ImportError:  # pragma: no cover - depends on the platform
        pass
    try:  # pragma: no cover - depends on the platform
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2
    except (ValueError, OSError, AttributeError):  # pragma: no cover
        return 4 * 2**30


def check_max_memory(value: Any) -> int:
    """The budget in bytes: ``None`` for 80% of the available memory, else a positive
    number of bytes."""
    if value is None:
        return int(_SHARE * available())
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or value <= 0:
        raise ParameterError(
            f"max_memory must be a positive number of bytes (e.g. 4e9) or None for 80% of "
            f"the available memory, got {value!r}"
        )
    return int(value)


def check(need: float, budget: int, what: str, advice: str) -> None:
    """Raise ParameterError when ``need`` bytes exceed ``budget``."""
    if need > budget:
        raise ParameterError(
            f"weight_sensitivity would need about {gib(need)} for {what}, more than "
            f"max_memory={gib(budget)}; {advice}"
        )
