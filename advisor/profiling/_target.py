"""Which column(s) hold the target: the user's choice, a naming convention, an indicator group,
or the last column, and a sentence that says which rule chose it.

Indicator groups are 0/1 columns sharing a name prefix (``y_a, y_b, y_c``; ``mode_beach,
mode_boat, ...``). One-hot encoded *features* look the same, so a group is only taken as the
target when its prefix is itself a target-like name, or when it ends the table (the place people
put targets); the second case also warns.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from advisor.errors import DataError, UsageError

__all__ = ["TARGET_NAMES", "choose_target", "is_indicator_column", "shown_name"]

#: Names taken as the target, case-insensitively, in this order of preference.
TARGET_NAMES: tuple[str, ...] = (
    "target",
    "label",
    "labels",
    "y",
    "class",
    "outcome",
    "response",
    "dependent",
    "dependent_variable",
    "dependent variable",
    "dep_var",
    "depvar",
    "dv",
    "y_true",
    "ground_truth",
    "truth",
    "class_label",
    "target_label",
    "target_class",
    "target_value",
)
_SEPARATORS = re.compile(r"[_.:\-\s]+")
_SHOWN_COLUMNS = 20


def choose_target(
    frame: pd.DataFrame, target: str | Sequence[str] | None = None
) -> tuple[tuple[str, ...], str, list[str]]:
    """Return the target column names, how they were chosen (in words), and any warnings.

    Args:
        frame: the table.
        target: column name(s) the user named; a single string with commas is split.

    Returns:
        ``(columns, detection, warnings)``.

    Raises:
        UsageError: a named column is not in the table, or every column would be the target.
        DataError: the table has no columns.

    Example:
        >>> import pandas as pd
        >>> frame = pd.DataFrame({"x": [1, 2], "Label": ["a", "b"]})
        >>> choose_target(frame)[:2]
        (('Label',), "column 'Label' matches the target naming convention ('label')")
    """
    columns = [str(c) for c in frame.columns]
    if not columns:
        raise DataError("the table has no columns")
    if target is not None:
        chosen = _explicit(columns, target)
        if len(chosen) == len(columns) and len(columns) > 1:
            raise UsageError("every column was named as a target; leave at least one feature")
        names = ", ".join(repr(c) for c in chosen)
        return chosen, f"given with --target ({names})", []

    lowered = {c.strip().lower(): c for c in reversed(columns)}
    for name in TARGET_NAMES:
        if name in lowered:
            column = lowered[name]
            return (
                (column,),
                f"column {column!r} matches the target naming convention ({name!r})",
                [],
            )

    group = _indicator_group(frame, columns)
    if group is not None:
        chosen, prefix, named = group
        listed = ", ".join(shown_name(c) for c in chosen)
        if named:
            why = f"indicator columns {listed} share the target-like prefix {prefix!r}"
            return chosen, why, []
        why = f"0/1 indicator columns {listed} share the prefix {prefix!r} and end the table"
        warning = (
            f"took the indicator group {prefix!r}* ({len(chosen)} columns) at the end of the "
            "table as the target; pass --target if it is a one-hot encoded feature"
        )
        return chosen, why, [warning]

    last = columns[-1]
    warning = (
        f"no column is named like a target (target, label, y, class, ...); using the last "
        f"column {last!r}; pass --target to choose another"
    )
    return (last,), f"last column {last!r} (no target-like name found)", [warning]


def _explicit(columns: list[str], target: str | Sequence[str]) -> tuple[str, ...]:
    if isinstance(target, str):
        requested = [target] if target in columns else [t.strip() for t in target.split(",")]
    else:
        requested = [str(t) for t in target]
    requested = [t for t in requested if t != ""]
    if not requested:
        raise UsageError("`target` is empty; name one column or several separated by commas")
    for name in requested:
        if name not in columns:
            raise UsageError(_not_found(name, columns))
    if len(set(requested)) != len(requested):
        shown = ", ".join(repr(t) for t in requested)
        raise UsageError(f"`target` names a column twice: {shown}")
    return tuple(requested)


def shown_name(name: str) -> str:
    r"""A column name as a message shows it: as is, or quoted with escapes when it holds a line
    break or another character a one-line message cannot show.

    Example:
        >>> shown_name("price"), shown_name("a\nb")
        ('price', "'a\\nb'")
    """
    return name if name.isprintable() else repr(name)


def _not_found(name: str, columns: list[str]) -> str:
    shown = ", ".join(shown_name(c) for c in columns[:_SHOWN_COLUMNS])
    if len(columns) > _SHOWN_COLUMNS:
        shown += f", ... ({len(columns) - _SHOWN_COLUMNS} more)"
    same_case = [c for c in columns if c.strip().lower() == name.strip().lower()]
    close = same_case or difflib.get_close_matches(name, columns, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"column {name!r} not found; columns are {shown}; {hint}pass `target`"


# --------------------------------------------------------------------------- indicator groups


def is_indicator_column(column: pd.Series) -> bool:
    """True when every non-missing value of a numeric or boolean column is 0 or 1.

    Example:
        >>> import pandas as pd
        >>> is_indicator_column(pd.Series([0, 1, 1.0])), is_indicator_column(pd.Series([0, 2]))
        (True, False)
    """
    if pd.api.types.is_bool_dtype(column.dtype):
        return True
    if not pd.api.types.is_numeric_dtype(column.dtype):
        return False
    values = column.to_numpy(dtype=np.float64, na_value=np.nan)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return False
    return bool(np.all((values == 0) | (values == 1)))


def _prefix(name: str) -> str | None:
    parts = _SEPARATORS.split(name.strip())
    if len(parts) < 2 or not parts[0]:
        return None
    return _SEPARATORS.sub("_", name.strip()).rsplit("_", 1)[0].lower()


def _indicator_group(
    frame: pd.DataFrame, columns: list[str]
) -> tuple[tuple[str, ...], str, bool] | None:
    groups: dict[str, list[str]] = {}
    for name in columns:
        prefix = _prefix(name)
        if prefix is not None:
            groups.setdefault(prefix, []).append(name)
    candidates: list[tuple[int, str, list[str]]] = []
    last = columns[-1]
    for prefix, members in groups.items():
        if len(members) < 2:
            continue
        named = prefix in TARGET_NAMES
        if not (named or last in members):
            continue
        if len(members) == len(columns):
            continue  # nothing would be left as a feature
        if all(is_indicator_column(frame[m]) for m in members):
            candidates.append((0 if named else 1, prefix, members))
    if not candidates:
        return None
    rank, prefix, members = min(candidates, key=lambda c: c[0])
    return tuple(members), prefix, rank == 0
