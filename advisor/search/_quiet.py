"""Keep a library call quiet without changing the caller's Optuna logging for good.

Optuna logs an INFO line for every study it creates and trial it finishes. A pipeline step
that prints those on the caller's stderr is noise; setting Optuna's verbosity globally would
change the caller's own studies. So the level is raised for the duration of the call only.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import sys
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

__all__ = ["library_call", "print_progress", "quiet_optuna"]

T = TypeVar("T")


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


def print_progress(update: Any) -> None:
    """One line per update on stderr: what ``progress=True`` asks for."""
    best = f", best {update.best}" if update.best else ""
    print(
        f"lossadvisor: {update.phase} {update.done}/{update.total}, "
        f"{update.elapsed_s:.1f}s of {update.budget_s:.0f}s{best}",
        file=sys.stderr,
    )


def library_call(function: Callable[..., T]) -> Callable[..., T]:
    """A public function that is quiet unless asked: ``progress=True`` prints progress lines,
    a callable receives each update, and Optuna's INFO lines are silenced for the call only.
    """

    @functools.wraps(function)
    def call(*args: Any, progress: Any = None, **kwargs: Any) -> T:
        with quiet_optuna():
            return function(
                *args, progress=print_progress if progress is True else progress or None, **kwargs
            )

    return call
