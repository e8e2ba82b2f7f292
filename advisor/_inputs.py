"""One table from whatever a caller holds: a CSV path, a DataFrame, or ``X, y`` arrays.

Every stage works on one DataFrame whose target columns are named, so arrays are turned into
such a frame here, once. The naming is deterministic (the same ``X, y`` always give the same
column names), so a profile made from ``(X, y)`` matches a later ``confirm((X, y), ...)``.
A target name never clashes with a feature name: ``X`` may hold a column called ``target``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from advisor.errors import UsageError

__all__ = ["Table", "as_table", "table_from_arrays"]

_TARGET_NAMES = ("target", "y")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Table:
    """What a stage needs from the caller's data: the source, its target names, its path."""

    source: str | os.PathLike[str] | pd.DataFrame  # a path is read later, with the sample
    target: str | Sequence[str] | None  # None: detect
    path: str | None


def _is_path(data: Any) -> bool:
    return isinstance(data, str | os.PathLike)


def _dense(values: Any, what: str) -> np.ndarray:
    if hasattr(values, "toarray") and hasattr(values, "nnz"):  # scipy.sparse: tabular, so dense
        values = values.toarray()
    array = np.asarray(values)
    if array.dtype == object and array.ndim == 0:
        raise UsageError(f"{what} must be array-like, got {type(values).__name__}")
    return array


def _features(X: Any) -> pd.DataFrame:
    if isinstance(X, pd.DataFrame):
        frame = X.reset_index(drop=True)
        frame.columns = [str(c) for c in frame.columns]
        return frame
    array = _dense(X, "X")
    if array.ndim != 2:
        raise UsageError(
            f"X must be 2-D (rows x features), got an array of shape {array.shape}; "
            "reshape a single feature with X.reshape(-1, 1)"
        )
    return pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])])


def _free_name(preferred: Sequence[str], taken: set[str]) -> str:
    for name in preferred:
        if name not in taken:
            return name
    base = preferred[0]
    suffix = 1
    while f"{base}_{suffix}" in taken:
        suffix += 1
    return f"{base}_{suffix}"


def _targets(y: Any, taken: set[str]) -> pd.DataFrame:
    """The target as named columns; a name that a feature has is made unique with a suffix."""
    if isinstance(y, pd.DataFrame):
        names = [str(c) for c in y.columns]
        values = y.reset_index(drop=True).to_numpy()
    elif isinstance(y, pd.Series):
        names = [str(y.name)] if y.name is not None else []
        values = y.reset_index(drop=True).to_numpy()
    else:
        values = _dense(y, "y")
        names = []
    if values.ndim == 2 and values.shape[1] == 1 and not names:
        values = values[:, 0]
    if values.ndim == 1:
        name = _free_name([*names, *_TARGET_NAMES] if names else _TARGET_NAMES, taken)
        return pd.DataFrame({name: values})
    if values.ndim != 2 or values.shape[1] == 0:
        raise UsageError(f"y must be 1-D or 2-D with at least one column, got {values.shape}")
    if not names:
        names = [f"target_{i}" for i in range(values.shape[1])]
    unique: list[str] = []
    for name in names:
        unique.append(_free_name([name], taken | set(unique)))
    return pd.DataFrame(values, columns=unique)


def table_from_arrays(X: Any, y: Any) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Join features and target into one frame; return it and the target's column names.

    Example:
        >>> import numpy as np
        >>> frame, target = table_from_arrays(np.zeros((3, 2)), np.array([1, 2, 3]))
        >>> list(frame.columns), target
        (['x0', 'x1', 'target'], ('target',))
        >>> import pandas as pd
        >>> X = pd.DataFrame({"target": [0.1, 0.2], "b": [1, 2]})
        >>> table_from_arrays(X, [0, 1])[1]
        ('y',)
    """
    features = _features(X)
    labels = _targets(y, set(features.columns))
    if len(features) != len(labels):
        raise UsageError(
            f"X and y have different numbers of rows ({len(features)} and {len(labels)}); "
            "pass one target value per row"
        )
    frame = pd.concat([features, labels], axis=1)
    return frame, tuple(labels.columns)


def as_table(data: Any, y: Any = None, *, target: str | Sequence[str] | None = None) -> Table:
    """Normalise the data argument of the public functions.

    Args:
        data: a CSV path, a DataFrame (``target=`` names its target column(s) or it is
            detected), a feature array/DataFrame ``X`` when ``y`` is given, or an ``(X, y)``
            tuple.
        y: the target (array, Series or DataFrame; several columns = multi-output/multilabel).
        target: target column name(s) of a path or DataFrame; not allowed with ``y``.

    Raises:
        UsageError: ``y`` together with ``target=``, a path with ``y``, mismatched lengths, or
            something that is not tabular.

    Example:
        >>> import numpy as np
        >>> table = as_table((np.ones((4, 2)), [0, 1, 0, 1]))
        >>> table.target, table.path, table.source.shape
        (('target',), None, (4, 3))
    """
    if y is None and isinstance(data, tuple) and len(data) == 2:
        data, y = data
    if y is None:
        if _is_path(data):
            return Table(source=data, target=target, path=os.fspath(data))
        if isinstance(data, pd.DataFrame):
            return Table(source=data, target=target, path=None)
        raise UsageError(
            f"data must be a CSV path, a DataFrame or X with y, got {type(data).__name__}; "
            "pass y= (or an (X, y) tuple) for arrays"
        )
    if target is not None:
        raise UsageError("pass either y or target=, not both: with y the target is y itself")
    if _is_path(data):
        raise UsageError(f"got a path ({os.fspath(data)!r}) and y; a CSV holds its own target")
    frame, names = table_from_arrays(data, y)
    return Table(source=frame, target=names, path=None)
