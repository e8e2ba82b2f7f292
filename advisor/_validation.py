"""How a trust boundary names a problem: ``source:item:field: message``, with "did you mean".

The loss catalog (``rules/losses.yaml``, ``advisor.losses.register``, entry points) and the
rule loader (``rules/selection.yaml``, ``--rules`` files) both report every problem at once, one
line each, and suggest the closest known name for a misspelt one (rule-engine's habit). They
share this module so that a misspelling reads the same wherever it is caught. It imports
nothing of the project but the errors, and no torch.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Sequence
from typing import Any

__all__ = ["Problems", "did_you_mean", "pydantic_problems", "unknown"]


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return ``"; did you mean 'x'?"`` for the closest choice, or ``""`` when none is close.

    Example:
        >>> did_you_mean("hubber", ["mse", "huber"])
        "; did you mean 'huber'?"
        >>> did_you_mean("zzz", ["mse", "huber"])
        ''
    """
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def unknown(kind: str, value: str, choices: Iterable[str], *, list_choices: bool = False) -> str:
    """The message for a name that is not among ``choices``.

    Args:
        kind: What the name is ("loss id", "field", "task").
        value: The name received.
        choices: The known names.
        list_choices: With no close match, list every choice (for short vocabularies).

    Example:
        >>> unknown("loss id", "hubber", ["mse", "huber"])
        "unknown loss id 'hubber'; did you mean 'huber'?"
        >>> unknown("head kind", "raw", ["score", "logit"], list_choices=True)
        "unknown head kind 'raw'; expected one of score, logit"
    """
    choices = [str(c) for c in choices]
    hint = did_you_mean(value, choices)
    if not hint and list_choices:
        hint = "; expected one of " + ", ".join(choices)
    return f"unknown {kind} {value!r}{hint}"


def pydantic_problems(
    error: Any,
    *,
    fallback: str,
    known: Callable[[tuple[Any, ...]], Sequence[str]],
    kind: str = "key",
    named: bool = True,
) -> list[tuple[str, str]]:
    """Turn a ``pydantic.ValidationError`` into ``(field, message)`` pairs.

    Args:
        error: The validation error.
        fallback: The field named when pydantic gives no location (the whole entry).
        known: The known keys at a location, for the "did you mean" of an unknown key.
        kind: How an unknown key is called ("key", "field").
        named: Repeat the unknown key's name in the message (it is also in the field).
    """
    problems = []
    for item in error.errors():
        loc = tuple(item["loc"])
        where = ".".join(str(part) for part in loc) or fallback
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            name = str(loc[-1])
            if named:
                message = unknown(kind, name, known(loc))
            else:
                message = f"unknown {kind}{did_you_mean(name, known(loc))}"
        problems.append((where, message))
    return problems


class Problems:
    """Collects ``source:item:field: message`` lines, to be reported all at once.

    Example:
        >>> problems = Problems("team.yaml")
        >>> problems.add("my-rule", "losses", unknown("loss id", "hubber", ["huber"]))
        >>> problems.lines
        ["team.yaml:my-rule:losses: unknown loss id 'hubber'; did you mean 'huber'?"]
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.lines: list[str] = []

    def add(self, item: str, field: str, message: str) -> None:
        self.lines.append(f"{self.source}:{item}:{field}: {message}")

    def __len__(self) -> int:
        return len(self.lines)
