"""A journal file's write lock that the operating system releases when its holder dies.

Optuna's journal backend locks each append with a lock *file* (a symlink or an ``O_EXCL``
file) that works on any file system but outlives a killed holder: the next process waits out
a 30 s grace period before it breaks the lock. A worker killed mid-append therefore cost a
resumed ``recommend`` its whole budget (seen with ``--budget 30``). Where ``fcntl`` exists
(Linux, macOS; NFSv4 too, through its lock leases), :class:`KernelFileLock` takes an exclusive
``flock`` on a side file instead: the kernel drops it the moment the holder's process ends,
however it ends. Elsewhere :func:`journal_lock` keeps Optuna's default.
"""

from __future__ import annotations

import os
from typing import Any

try:
    import fcntl
except ImportError:  # Windows: no flock
    fcntl = None  # type: ignore[assignment]

__all__ = ["KernelFileLock", "journal_lock"]

LOCK_SUFFIX = ".flock"


class KernelFileLock:
    """An exclusive ``flock`` on ``<journal>.flock``, taken and dropped around each append.

    It has the two methods ``JournalFileBackend`` calls on its ``lock_obj`` (Optuna's base
    class for them is not public).

    Each acquire opens its own descriptor, so two threads of one process exclude each other as
    two processes do (``flock`` locks belong to an open file description). The side file is
    never deleted: deleting a lock file races with a process that has just opened it.
    """

    def __init__(self, journal_path: str) -> None:
        self._path = journal_path + LOCK_SUFFIX
        self._fd: int | None = None

    def acquire(self) -> bool:
        fd = os.open(self._path, os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return True

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            raise RuntimeError("release of a journal lock that is not held")
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def __getstate__(self) -> dict[str, Any]:
        return {"_path": self._path, "_fd": None}  # a descriptor does not travel


def journal_lock(journal_path: str) -> KernelFileLock | None:
    """The lock for a journal file: :class:`KernelFileLock` where ``fcntl`` exists, else None
    (Optuna's default lock file)."""
    return KernelFileLock(journal_path) if fcntl is not None else None
