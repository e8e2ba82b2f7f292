"""Errors that carry their own exit code, so the CLI can map any failure to one line and a code.

User-caused problems (bad data, bad usage, bad rule files) exit 2; anything else is a bug and
exits 1. Each class also mixes in the builtin it resembles, so library users can catch
``ValueError`` or ``FileNotFoundError`` without knowing this module.

A message names the parameter that fixes the problem as Python spells it, in backticks:
`target`, `budget_s`, `task='binary'`. A library user reads their own names; the command line
shows each as its flag (``advisor.cli.PARAMETER_FLAGS``, ``render_message``), so the same
error says "pass `target`" to Python and "pass --target" on the terminal.
"""

from __future__ import annotations

import os
import sys
import warnings

__all__ = [
    "AdvisorError",
    "AdvisorWarning",
    "DataError",
    "InputFileError",
    "RuleError",
    "SearchInterrupted",
    "StudyMismatchError",
    "UsageError",
    "warn",
]


class AdvisorError(Exception):
    """Base of every error lossadvisor raises on purpose."""

    exit_code: int = 1


class UsageError(AdvisorError, ValueError):
    """An argument that cannot be honoured (unknown loss id, bad objective, ...)."""

    exit_code = 2


class DataError(AdvisorError, ValueError):
    """The data cannot support a recommendation (empty, constant target, ID-like target...)."""

    exit_code = 2


class InputFileError(DataError, OSError):
    """The input file is missing, unreadable, or not a table."""

    exit_code = 2


class RuleError(AdvisorError, ValueError):
    """A rule file is invalid; the message lists every problem as ``file:rule-id:field: msg``."""

    exit_code = 2


class StudyMismatchError(UsageError):
    """A stored study was made for other data or settings than the process joining it has."""

    exit_code = 2


class SearchInterrupted(AdvisorError):
    """Ctrl-C during a search: in-flight trials were marked failed; the message says how to
    resume. Exits 130, the shell's code for a process ended by SIGINT."""

    exit_code = 130


class AdvisorWarning(UserWarning):
    """A doubtful heuristic or a repaired input: worth telling, not worth failing."""


def warn(message: str) -> None:
    """Issue an ``AdvisorWarning`` attributed to the first caller outside this package.

    A fixed ``stacklevel`` points at whichever of the package's own modules happens to sit
    that many frames up (``profile``, ``recommend``, the scikit-learn step all reach the
    profiler through different depths); the user's line is the one worth showing.
    """
    package = os.path.dirname(os.path.abspath(__file__)) + os.sep
    frame, level = sys._getframe(1), 2  # stacklevel 2 is warn's caller
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, AdvisorWarning, stacklevel=level)
