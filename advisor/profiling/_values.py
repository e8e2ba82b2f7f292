"""The target's values, cleaned once: missing rows found, numbers told from strings, labels named.

Shared by task detection (``_task``) and the canonical training arrays (``_split``) so that both
agree on which rows are missing and on how a class value is spelled in ``DataProfile.classes``.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from advisor.errors import DataError

__all__ = [
    "MISSING_TOKENS",
    "TargetValues",
    "ValueKind",
    "label_of_number",
    "natural_key",
    "read_target_values",
]

#: Strings read as a missing target value (compared after strip + lower-case).
MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "?", "-", "missing", "#n/a"})
#: Two-level string sets read as booleans, negative level first.
BOOLEAN_PAIRS = (("no", "yes"), ("false", "true"), ("n", "y"), ("f", "t"), ("neg", "pos"))
_MULTILABEL_SEPARATOR = "|"
#: Largest target magnitude accepted: training runs in float32, whose range ends here.
LARGEST_TARGET = float(np.finfo(np.float32).max)
_NUMBER_SHAPE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


class ValueKind(enum.StrEnum):
    """What the target column(s) hold, as read: the first fork of task detection."""

    NUMBER = "number"
    BOOL = "bool"
    STRING = "string"
    MULTILABEL_STRINGS = "multilabel_strings"  # strings joining labels with "|"
    MULTI = "multi"  # several numeric columns


@dataclasses.dataclass(slots=True)
class TargetValues:
    """The non-missing target values and where they came from (internal)."""

    name: str
    columns: tuple[str, ...]
    kind: ValueKind
    keep: np.ndarray  # bool mask over the frame's rows: target present
    n_total: int
    numbers: np.ndarray | None = None
    strings: np.ndarray | None = None
    matrix: np.ndarray | None = None
    dtype: str = ""
    integer_dtype: bool = False
    _levels: tuple[np.ndarray, np.ndarray] | None = None
    _sorted: np.ndarray | None = None

    @property
    def n(self) -> int:
        return int(self.n_total - self.n_missing)

    @property
    def n_missing(self) -> int:
        return int(self.keep.size - np.count_nonzero(self.keep))

    def levels(self) -> tuple[np.ndarray, np.ndarray]:
        """Distinct values (sorted) and how often each occurs."""
        if self._levels is None:
            if self.kind in (ValueKind.NUMBER, ValueKind.BOOL):
                # one sort serves the levels here and the quantiles in ``_tails``
                ordered = self.sorted_numbers()
                starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
                counts = np.diff(np.r_[starts, ordered.size])
                self._levels = (ordered[starts], counts)
            else:
                counts = pd.Series(self.strings).value_counts(sort=False)
                order = np.argsort(counts.index.to_numpy(dtype=object).astype(str))
                self._levels = (
                    counts.index.to_numpy(dtype=object)[order],
                    counts.to_numpy()[order],
                )
        return self._levels

    def sorted_numbers(self) -> np.ndarray:
        """The numeric values in ascending order (computed once)."""
        if self._sorted is None:
            self._sorted = np.sort(self.numbers)
        return self._sorted

    def class_names(self, levels: np.ndarray) -> tuple[str, ...]:
        return tuple(label_of_number(float(x)) for x in levels)

    def boolean_order(self, levels: np.ndarray) -> tuple[str, ...] | None:
        """The two levels negative first, when they spell a boolean (yes/no, true/false...)."""
        if len(levels) != 2:
            return None
        lowered = {str(x).lower(): str(x) for x in levels}
        for negative, positive in BOOLEAN_PAIRS:
            if set(lowered) == {negative, positive}:
                return lowered[negative], lowered[positive]
        return None

    def label_names(self) -> tuple[str, ...]:
        """The label vocabulary of ``a|b|c`` strings, sorted."""
        tokens: set[str] = set()
        for text in pd.unique(self.strings):
            tokens.update(_split_labels(str(text)))
        return tuple(sorted(tokens, key=natural_key))

    def missing_warning(self) -> str:
        return (
            f"dropped {self.n_missing} of {self.n_total} rows whose target {self.name!r} is missing"
        )


def label_of_number(value: float) -> str:
    """How a numeric class value is spelled in ``DataProfile.classes``.

    Example:
        >>> label_of_number(2.0), label_of_number(-1), label_of_number(0.25)
        ('2', '-1', '0.25')
    """
    if float(value).is_integer():
        return str(int(value))
    return repr(float(value))


def natural_key(text: str) -> tuple:
    """Sort key that orders embedded numbers by value: ``level2`` before ``level10``."""
    parts = re.split(r"(\d+(?:\.\d+)?)", str(text))
    return tuple((0, float(p), "") if i % 2 else (1, 0.0, p.lower()) for i, p in enumerate(parts))


def _split_labels(text: str) -> list[str]:
    return [t.strip() for t in text.split(_MULTILABEL_SEPARATOR) if t.strip()]


def read_target_values(
    frame: pd.DataFrame, target: Sequence[str], *, check: bool = True
) -> TargetValues:
    """Clean the target column(s): find missing rows, decide numbers vs strings.

    With ``check=False`` (new rows for an existing profile) an all-missing or single-class
    target is accepted.

    Raises:
        DataError: all missing, a datetime target, strings among several target columns, a
            column mixing numbers and strings, or numbers beyond float32's range.
    """
    values = _read(frame, tuple(target))
    return _checked(values) if check else values


def _read(frame: pd.DataFrame, target: tuple[str, ...]) -> TargetValues:
    if len(target) > 1:
        return _read_columns(frame, target)
    name = target[0]
    column = frame[name]
    n_total = len(column)
    dtype = column.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype) or isinstance(dtype, pd.PeriodDtype):
        raise DataError(
            f"target {name!r} holds dates; pass `target` with a numeric or class column"
        )
    if pd.api.types.is_bool_dtype(dtype):
        return _done(name, ValueKind.BOOL, column.isna().to_numpy(), column, dtype="bool")
    if pd.api.types.is_numeric_dtype(dtype):
        numbers = column.to_numpy(dtype=np.float64, na_value=np.nan)
        missing = ~np.isfinite(numbers)
        values = TargetValues(
            name,
            (name,),
            ValueKind.NUMBER,
            ~missing,
            n_total,
            numbers=numbers[~missing] if missing.any() else numbers,
            dtype=str(dtype),
            integer_dtype=pd.api.types.is_integer_dtype(dtype),
        )
        return values
    return _read_strings(name, column)


def _done(
    name: str, kind: ValueKind, missing: np.ndarray, column: pd.Series, *, dtype: str
) -> TargetValues:
    kept = column[~missing]
    numbers = kept.to_numpy(dtype=np.float64)
    return TargetValues(name, (name,), kind, ~missing, len(column), numbers=numbers, dtype=dtype)


def _read_strings(name: str, column: pd.Series) -> TargetValues:
    present = column.notna().to_numpy()
    raw = column[present]
    if len(raw) and raw.map(type).isin([bool, np.bool_]).all():
        return _done(name, ValueKind.BOOL, ~present, column, dtype="bool")
    text = raw.astype(str).str.strip()
    token_missing = text.str.lower().isin(MISSING_TOKENS).to_numpy()
    keep = present.copy()
    keep[np.flatnonzero(present)[token_missing]] = False
    text = text[~token_missing]
    strings = text.to_numpy(dtype=object)
    numeric_shape = text.str.match(_NUMBER_SHAPE).to_numpy(dtype=bool) if len(text) else None
    if numeric_shape is not None and numeric_shape.all():
        numbers = pd.to_numeric(text).to_numpy(dtype=np.float64)
        integer = not text.str.contains(r"[.eE]").any()
        values = TargetValues(
            name,
            (name,),
            ValueKind.NUMBER,
            keep,
            len(column),
            numbers=numbers,
            dtype="int64" if integer else "float64",
            integer_dtype=integer,
        )
        return values
    if numeric_shape is not None and numeric_shape.any():
        number = strings[numeric_shape][0]
        word = strings[~numeric_shape][0]
        raise DataError(
            f"target {name!r} mixes numbers and strings ({numeric_shape.sum()} numbers such as "
            f"{number!r}, {(~numeric_shape).sum()} strings such as {word!r}); clean the column "
            "or pass another `target`"
        )
    kind = ValueKind.STRING
    if len(text) and text.str.contains(_MULTILABEL_SEPARATOR, regex=False).mean() >= 0.01:
        kind = ValueKind.MULTILABEL_STRINGS
    values = TargetValues(name, (name,), kind, keep, len(column), strings=strings, dtype="str")
    return values


def _read_columns(frame: pd.DataFrame, target: tuple[str, ...]) -> TargetValues:
    for name in target:
        dtype = frame[name].dtype
        if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)):
            raise DataError(
                f"target column {name!r} holds {dtype} values; several target columns must be "
                "0/1 indicators or class probabilities"
            )
    matrix = np.column_stack(
        [frame[name].to_numpy(dtype=np.float64, na_value=np.nan) for name in target]
    )
    keep = np.isfinite(matrix).all(axis=1)
    values = TargetValues(
        ", ".join(target),
        target,
        ValueKind.MULTI,
        keep,
        len(frame),
        matrix=matrix[keep],
        dtype="float64",
    )
    return values


def _checked(values: TargetValues) -> TargetValues:
    if values.n == 0:
        raise DataError(
            f"target {values.name!r} is missing in all {values.n_total} rows; pass `target` with "
            "a column that has values"
        )
    if values.kind is ValueKind.NUMBER:
        largest = float(np.max(np.abs(values.numbers)))
        if largest > LARGEST_TARGET:
            raise DataError(
                f"target {values.name!r} holds values as large as {largest:.3g}, beyond float32 "
                f"(+-{LARGEST_TARGET:.3g}), which training uses; rescale the target"
            )
    if values.kind in (ValueKind.NUMBER, ValueKind.BOOL, ValueKind.STRING):
        levels, _ = values.levels()
        if len(levels) == 1:
            after = " after dropping rows with a missing target" if values.n_missing else ""
            raise DataError(
                f"target {values.name!r} is constant{after} (every value is "
                f"{_shown(levels[0], values)}); a single class cannot be learned"
            )
    elif values.kind is ValueKind.MULTI and np.all(values.matrix == values.matrix[0]):
        listed = ", ".join(repr(c) for c in values.columns)
        raise DataError(f"target columns {listed} are constant: every row is the same")
    return values


def _shown(level: object, values: TargetValues) -> str:
    if values.kind is ValueKind.NUMBER:
        return label_of_number(float(level))  # type: ignore[arg-type]
    if values.kind is ValueKind.BOOL:
        return str(bool(level)).lower()
    return repr(str(level))
