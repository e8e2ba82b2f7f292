"""Canonical training arrays: the feature frame and the target in the shape its loss expects.

=================================  =======================================================
task / encoding                    target array
=================================  =======================================================
regression, _count, _positive      float64 ``(N,)`` in the target's own units
binary, multiclass, ordinal        int64 ``(N,)`` indices into ``profile.classes``
multiclass, one_hot_columns        int64 ``(N,)`` argmax indices (classes = column names)
multiclass, probability            float64 ``(N, C)`` soft targets (classes = column names)
binary, probability                float64 ``(N,)`` P(class "1") in [0, 1] (soft targets)
multilabel                         float32 ``(N, L)`` 0/1 (classes = label names)
=================================  =======================================================
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from advisor.errors import DataError, UsageError
from advisor.records import DataProfile, LabelEncoding, Task

from ._target import shown_name
from ._values import TargetValues, ValueKind, label_of_number, read_target_values

__all__ = ["split_xy"]


def split_xy(frame: pd.DataFrame, profile: DataProfile) -> tuple[pd.DataFrame, np.ndarray]:
    """Drop rows without a target; return the feature frame and the canonical target array.

    Args:
        frame: the table the profile was made from (or one with the same columns).
        profile: its profile.

    Returns:
        ``(features, y)``: every non-target column for the kept rows (index reset), and the
        target as described in this module's table.

    Raises:
        UsageError: a target column of the profile is not in the frame.
        DataError: a class value that is not in ``profile.classes``.

    Example:
        >>> import pandas as pd
        >>> from advisor.profiling import profile
        >>> frame = pd.DataFrame({"x": [1.0, 2, 3, 4], "y": ["yes", "no", None, "yes"]})
        >>> import warnings; warnings.simplefilter("ignore")
        >>> features, y = split_xy(frame, profile(frame))
        >>> features["x"].tolist(), y.tolist(), y.dtype.name
        ([1.0, 2.0, 4.0], [1, 0, 1], 'int64')
    """
    if not all(isinstance(c, str) for c in frame.columns):
        frame = frame.set_axis([str(c) for c in frame.columns], axis=1)
    missing = [c for c in profile.target if c not in frame.columns]
    if missing:
        shown = ", ".join(shown_name(str(c)) for c in frame.columns)
        raise UsageError(f"column {missing[0]!r} not found; columns are {shown}; pass `target`")
    values = read_target_values(frame, profile.target, check=False)
    features = frame.drop(columns=list(profile.target))
    if values.n_missing:
        features = features.loc[values.keep]
    features = features.reset_index(drop=True)
    return features, _target_array(values, profile)


def _target_array(values: TargetValues, profile: DataProfile) -> np.ndarray:
    task, encoding, classes = profile.task, profile.label_encoding, profile.classes or ()
    soft = values.kind is ValueKind.NUMBER and encoding is LabelEncoding.PROBABILITY
    if task.is_regression or soft:
        return np.asarray(values.numbers, dtype=np.float64)
    if values.kind is ValueKind.MULTI:
        if encoding is LabelEncoding.PROBABILITY:
            return values.matrix.astype(np.float64)
        if task is Task.MULTILABEL:
            return values.matrix.astype(np.float32)
        return values.matrix.argmax(axis=1).astype(np.int64)
    if values.kind is ValueKind.MULTILABEL_STRINGS:
        return _multi_hot(values.strings, classes)
    if values.kind is ValueKind.BOOL:
        labels = np.where(values.numbers > 0, "true", "false").astype(object)
    elif values.kind is ValueKind.NUMBER:
        return _index_numbers(values.numbers, classes)
    else:
        labels = values.strings
    codes = pd.Index(list(classes)).get_indexer(pd.Index(labels, dtype=object)).astype(np.int64)
    _check_known(codes, labels, classes)
    return codes


def _index_numbers(numbers: np.ndarray, classes: tuple[str, ...]) -> np.ndarray:
    class_values = np.array([float(c) for c in classes])
    order = np.argsort(class_values)
    sorted_values = class_values[order]
    where = np.clip(np.searchsorted(sorted_values, numbers), 0, len(classes) - 1)
    codes = order[where].astype(np.int64)
    unknown = sorted_values[where] != numbers
    if unknown.any():
        bad = label_of_number(float(numbers[np.argmax(unknown)]))
        raise DataError(f"target value {bad!r} is not one of the profiled classes {classes}")
    return codes


def _check_known(codes: np.ndarray, labels: np.ndarray, classes: tuple[str, ...]) -> None:
    if (codes < 0).any():
        bad = labels[int(np.argmax(codes < 0))]
        raise DataError(f"target value {bad!r} is not one of the profiled classes {classes}")


def _multi_hot(strings: np.ndarray, classes: tuple[str, ...]) -> np.ndarray:
    position = {name: i for i, name in enumerate(classes)}
    out = np.zeros((len(strings), len(classes)), dtype=np.float32)
    for row, text in enumerate(strings):
        for token in str(text).split("|"):
            token = token.strip()
            if token:
                if token not in position:
                    raise DataError(f"label {token!r} is not one of the profiled labels {classes}")
                out[row, position[token]] = 1.0
    return out
