"""When this process started, on the ``time.monotonic()`` clock.

``lossadvisor recommend --budget 60`` promises the whole command, as the user times it, ends
within 60 seconds. The interpreter and the imports of torch, Optuna and scikit-learn run
before any of the command's own code, so a clock started at the command's entry misses them.
Linux records each process's start in ``/proc/self/stat`` (clock ticks since boot, the same
clock as ``/proc/uptime``): the process's age is their difference. Where ``/proc`` is missing
(macOS, Windows), the caller's entry is the best start there is.
"""

from __future__ import annotations

import os
import time

__all__ = ["process_started"]

# field 22 of /proc/PID/stat (starttime), counted from the field after the command's ")"
_STARTTIME_FIELD = 22 - 3


def process_started() -> float:
    """The ``time.monotonic()`` instant at which this process started (now, if unknown).

    Example:
        >>> import time
        >>> 0 <= time.monotonic() - process_started() < 3600
        True
    """
    now = time.monotonic()
    try:
        with open("/proc/self/stat", "rb") as handle:
            stat = handle.read()
        with open("/proc/uptime", "rb") as handle:
            uptime = float(handle.read().split()[0])
        # the command name may hold spaces and parentheses: the fields start after the last ")"
        ticks = int(stat[stat.rindex(b")") + 2 :].split()[_STARTTIME_FIELD])
        age = uptime - ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return now
    return now - max(0.0, age)
