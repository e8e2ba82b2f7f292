"""Keep a library call quiet without changing the caller's Optuna logging for good.

Optuna logs an INFO line for every study it creates and trial it finishes. A pipeline step
that prints those on the caller's stderr is noise; setting Optuna's verbosity globally would
change the caller's own studies. So the level is raised for the duration of the call only.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

__all__ = ["quiet_optuna"]


@contextlib.contextmanager
def quiet_optuna() -> Iterator[None]:
    """Silence Optuna below WARNING inside the block; restore the caller's level after it.

    Example:
        >>> import optuna
        >>> optuna.logging.set_verbosity(optuna.logging.INFO)
        >>> with quiet_optuna():
        ...     inside = optuna.logging.get_verbosity()
        >>> inside == optuna.logging.WARNING, optuna.logging.get_verbosity() == optuna.logging.INFO
        (True, True)
    """
    import optuna

    before = optuna.logging.get_verbosity()
    if before < logging.WARNING:
        optuna.logging.set_verbosity(logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(before)
