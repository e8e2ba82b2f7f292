"""What kind each feature column is, so the short training runs know how to encode it.

Kinds (``FeatureKind``): ``constant`` (at most one distinct value), ``boolean`` (two values:
bool, 0/1, yes/no), ``datetime`` (datetime dtype, or strings shaped like dates), ``id_like``
(unique per row: strings, or whole numbers forming a sequence), ``text`` (long free strings:
mean length >= 30 characters over >= 4 words), ``categorical`` (other strings), ``numeric``.

Cost on big tables: per column only vectorised passes (missing mask, min/max). Whether a float
column is whole-valued is first checked on its first 1,000 values, so typical continuous
columns exit early. ``n_unique`` is exact, except for non-integer numeric columns of tables over
100,000 rows, where it is counted on a seeded 100,000-row sample (a lower bound; the profile's
evidence says so with ``feature_n_unique_sampled``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from advisor.records import FeatureColumn, FeatureKind, FeatureSummary

__all__ = ["HIGH_CARDINALITY", "summarise_features"]

#: Categorical columns with more levels than this are flagged as high-cardinality.
HIGH_CARDINALITY = 50
EXACT_UNIQUE_ROWS = 100_000
_TEXT_MIN_CHARS = 30
_TEXT_MIN_WORDS = 4
_ID_MIN_ROWS = 20
_DATE_SHAPE = re.compile(
    r"^\s*(\d{4}-\d{1,2}-\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?"
    r"|\d{1,2}/\d{1,2}/\d{2,4}( \d{1,2}:\d{2}(:\d{2})?)?)\s*$"
)
_BOOLEAN_WORDS = ({"no", "yes"}, {"false", "true"}, {"n", "y"}, {"f", "t"})


def summarise_features(
    frame: pd.DataFrame, columns: Sequence[str], *, seed: int = 0
) -> tuple[FeatureSummary, bool]:
    """Classify each feature column and summarise the set (over all rows, target or not).

    Args:
        frame: the table.
        columns: the feature columns (every column that is not a target).
        seed: seed of the sample used for ``n_unique`` on very long tables.

    Returns:
        The summary, and whether any ``n_unique`` was counted on a sample.

    Example:
        >>> import pandas as pd
        >>> frame = pd.DataFrame({"age": [20.5, 31.0, 47.2], "city": ["a", "b", "a"],
        ...                       "flag": [0, 1, 1], "k": [7, 7, 7]})
        >>> summary, _ = summarise_features(frame, ["age", "city", "flag", "k"])
        >>> [c.kind.value for c in summary.columns], summary.constant
        (['numeric', 'categorical', 'boolean', 'constant'], ('k',))
    """
    n_rows = len(frame)
    rng = np.random.default_rng(seed)
    sample_rows = None
    if n_rows > EXACT_UNIQUE_ROWS:
        sample_rows = np.sort(rng.choice(n_rows, EXACT_UNIQUE_ROWS, replace=False))
    described: list[FeatureColumn] = []
    sampled_any = False
    missing_cells = 0
    for name in columns:
        column = frame[name]
        kind, n_unique, n_missing, sampled = _describe(column, sample_rows)
        sampled_any |= sampled
        missing_cells += n_missing
        described.append(
            FeatureColumn(
                name=str(name),
                kind=kind,
                missing_rate=round(n_missing / n_rows, 6) if n_rows else 0.0,
                n_unique=n_unique,
            )
        )
    counts = {kind.value: 0 for kind in FeatureKind}
    for column in described:
        counts[column.kind.value] += 1
    cells = n_rows * len(described)
    summary = FeatureSummary(
        n_features=len(described),
        counts=counts,
        missing_rate=round(missing_cells / cells, 6) if cells else 0.0,
        columns=tuple(described),
        constant=tuple(c.name for c in described if c.kind is FeatureKind.CONSTANT),
        high_cardinality=tuple(
            c.name
            for c in described
            if c.kind is FeatureKind.CATEGORICAL and c.n_unique > HIGH_CARDINALITY
        ),
        id_like=tuple(c.name for c in described if c.kind is FeatureKind.ID_LIKE),
    )
    return summary, sampled_any


def _describe(
    column: pd.Series, sample_rows: np.ndarray | None
) -> tuple[FeatureKind, int, int, bool]:
    """Return (kind, n_unique, n_missing, n_unique_was_sampled) of one column."""
    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype):
        n_missing = int(column.isna().sum())
        n_unique = int(column.nunique())
        return _or_constant(FeatureKind.BOOLEAN, n_unique), n_unique, n_missing, False
    if pd.api.types.is_datetime64_any_dtype(dtype):
        n_unique = int(column.nunique())
        return (
            _or_constant(FeatureKind.DATETIME, n_unique),
            n_unique,
            int(column.isna().sum()),
            False,
        )
    if pd.api.types.is_numeric_dtype(dtype):
        return _describe_numbers(column, sample_rows)
    if isinstance(dtype, pd.CategoricalDtype):
        n_unique = int(column.nunique())
        kind = _or_constant(FeatureKind.CATEGORICAL, n_unique)
        return kind, n_unique, int(column.isna().sum()), False
    return _describe_strings(column)


def _or_constant(kind: FeatureKind, n_unique: int) -> FeatureKind:
    return FeatureKind.CONSTANT if n_unique <= 1 else kind


def _describe_numbers(
    column: pd.Series, sample_rows: np.ndarray | None
) -> tuple[FeatureKind, int, int, bool]:
    values = column.to_numpy(dtype=np.float64, na_value=np.nan)
    present = np.isfinite(values)
    n_missing = int(values.size - np.count_nonzero(present))
    if n_missing:
        values = values[present]
    if values.size == 0:
        return FeatureKind.CONSTANT, 0, n_missing, False
    lo, hi = values.min(), values.max()
    if lo == hi:
        return FeatureKind.CONSTANT, 1, n_missing, False
    head = values[:1000]
    whole = bool(np.all(np.floor(head) == head)) and bool(np.all(np.floor(values) == values))
    if not whole:
        if sample_rows is not None and column.size > EXACT_UNIQUE_ROWS:
            sample = column.to_numpy(dtype=np.float64, na_value=np.nan)[sample_rows]
            return (
                FeatureKind.NUMERIC,
                int(np.unique(sample[np.isfinite(sample)]).size),
                n_missing,
                True,
            )
        return FeatureKind.NUMERIC, int(np.unique(values).size), n_missing, False
    if lo == 0 and hi == 1:
        return FeatureKind.BOOLEAN, 2, n_missing, False
    n_unique = int(np.unique(values).size)
    if n_unique == values.size and values.size >= _ID_MIN_ROWS:
        steps = np.diff(values)
        monotone = bool(np.all(steps > 0) or np.all(steps < 0))
        if monotone or (hi - lo + 1) <= 2 * values.size:
            return FeatureKind.ID_LIKE, n_unique, n_missing, False
    return FeatureKind.NUMERIC, n_unique, n_missing, False


def _describe_strings(column: pd.Series) -> tuple[FeatureKind, int, int, bool]:
    present = column.dropna()
    n_missing = int(column.size - present.size)
    if present.size == 0:
        return FeatureKind.CONSTANT, 0, n_missing, False
    text = present.astype(str)
    n_unique = int(text.nunique())
    if n_unique <= 1:
        return FeatureKind.CONSTANT, n_unique, n_missing, False
    if n_unique == 2 and set(text.str.strip().str.lower().unique()) in _BOOLEAN_WORDS:
        return FeatureKind.BOOLEAN, n_unique, n_missing, False
    probe = text.iloc[:: max(1, text.size // 200)][:200]
    if probe.str.match(_DATE_SHAPE).all():
        return FeatureKind.DATETIME, n_unique, n_missing, False
    lengths = probe.str.len()
    words = probe.str.split().str.len()
    if lengths.mean() >= _TEXT_MIN_CHARS and words.mean() >= _TEXT_MIN_WORDS:
        return FeatureKind.TEXT, n_unique, n_missing, False
    if n_unique == text.size and text.size >= _ID_MIN_ROWS:
        return FeatureKind.ID_LIKE, n_unique, n_missing, False
    return FeatureKind.CATEGORICAL, n_unique, n_missing, False
