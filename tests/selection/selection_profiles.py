"""Build realistic ``DataProfile`` records directly, for rule-engine tests (no CSV, no profiler).

Each task gets the numbers a real profile of such data would carry (a regression target has a
mean, spread, skewness and outlier rates; a classification target has class counts and an
imbalance record); any measurement can be overridden by keyword. Thresholds are tested by
passing the measured value directly (``outlier_rate=0.051``, ``ratio=2.99``), so the imbalance
record keeps the exact ``ratio`` given while its class counts follow it approximately.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from advisor.records import (
    DataProfile,
    FeatureSummary,
    ImbalanceLevel,
    ImbalanceStats,
    LabelEncoding,
    OutlierStats,
    TargetStats,
    Task,
)

__all__ = ["make_profile"]

_DEFAULT_ENCODING = {
    Task.REGRESSION: LabelEncoding.CONTINUOUS,
    Task.REGRESSION_COUNT: LabelEncoding.CONTINUOUS,
    Task.REGRESSION_POSITIVE: LabelEncoding.CONTINUOUS,
    Task.BINARY: LabelEncoding.INTEGER_INDEX,
    Task.MULTICLASS: LabelEncoding.INTEGER_INDEX,
    Task.ORDINAL: LabelEncoding.INTEGER_INDEX,
    Task.MULTILABEL: LabelEncoding.MULTILABEL_INDICATOR_COLUMNS,
}

# Typical target statistics per task: what the profiler measures on such data.
_TARGET_DEFAULTS: dict[Task, dict[str, Any]] = {
    Task.REGRESSION: dict(
        mean=0.0,
        std=1.0,
        min=-3.2,
        max=3.3,
        median=0.0,
        mad=0.6745,
        skewness=0.05,
        kurtosis=0.1,
        tail_index=None,
        zero_fraction=0.0,
        dispersion=None,
        is_integer=False,
        is_positive=False,
        is_non_negative=False,
        in_unit_interval=False,
    ),
    Task.REGRESSION_COUNT: dict(
        mean=2.0,
        std=1.5,
        min=0.0,
        max=11.0,
        median=2.0,
        mad=1.0,
        skewness=0.9,
        kurtosis=1.2,
        tail_index=None,
        zero_fraction=0.14,
        dispersion=1.1,
        is_integer=True,
        is_positive=False,
        is_non_negative=True,
        in_unit_interval=False,
    ),
    Task.REGRESSION_POSITIVE: dict(
        mean=250_000.0,
        std=180_000.0,
        min=12_000.0,
        max=2_400_000.0,
        median=190_000.0,
        mad=70_000.0,
        skewness=1.5,
        kurtosis=4.0,
        tail_index=3.2,
        zero_fraction=0.0,
        dispersion=None,
        is_integer=False,
        is_positive=True,
        is_non_negative=True,
        in_unit_interval=False,
    ),
}


def _level(ratio: float) -> ImbalanceLevel:
    for bound, level in (
        (10.0, ImbalanceLevel.EXTREME),
        (3.0, ImbalanceLevel.STRONG),
        (1.5, ImbalanceLevel.MILD),
    ):
        if ratio >= bound:
            return level
    return ImbalanceLevel.BALANCED


def _class_counts(classes: Sequence[str], n_rows: int, ratio: float) -> dict[str, int]:
    """Counts whose largest/smallest is about ``ratio``: the last class is the rare one."""
    k = len(classes)
    # k-1 classes share the majority count c, the last one gets c / ratio.
    c = n_rows / ((k - 1) + 1.0 / ratio)
    counts = {name: round(c) for name in classes[:-1]}
    counts[classes[-1]] = max(1, n_rows - sum(counts.values()))
    return counts


def _imbalance(
    task: Task,
    classes: Sequence[str],
    n_rows: int,
    ratio: float | None,
    class_counts: Mapping[str, int] | None,
) -> ImbalanceStats:
    if task is Task.MULTILABEL:
        # ``ratio`` is the rarest label's max(neg, pos)/min(neg, pos); other labels near 40%.
        ratio = 1.5 if ratio is None else ratio
        rare = round(n_rows / (1.0 + ratio))
        positives = {name: round(0.4 * n_rows) for name in classes[:-1]}
        positives[classes[-1]] = rare
        rates = {k: round(v / n_rows, 6) for k, v in positives.items()}
        return ImbalanceStats(
            ratio=ratio,
            minority_share=min(rates.values()),
            level=_level(ratio),
            class_counts=positives,
            positive_rates=rates,
        )
    if class_counts is None:
        class_counts = _class_counts(classes, n_rows, 1.0 if ratio is None else ratio)
    counts = dict(class_counts)
    if ratio is None:
        ratio = max(counts.values()) / min(counts.values())
    return ImbalanceStats(
        ratio=ratio,
        minority_share=min(counts.values()) / sum(counts.values()),
        level=_level(ratio),
        class_counts=counts,
    )


def make_profile(
    task: str | Task = "regression",
    *,
    encoding: str | LabelEncoding | None = None,
    n_rows: int = 5000,
    n_features: int = 10,
    n_categorical: int = 2,
    missing_rate: float = 0.01,
    outlier_rate: float = 0.0,
    residual_rate: float | None = None,
    classes: int | Sequence[str] | None = None,
    ratio: float | None = None,
    class_counts: Mapping[str, int] | None = None,
    confidence: float = 0.95,
    **target: Any,
) -> DataProfile:
    """A profile as the profiler would produce it; ``target`` overrides TargetStats fields.

    Args:
        task: the task id.
        encoding: the label encoding; the task's usual one when None.
        n_rows, n_features, n_categorical, missing_rate: table shape and feature summary.
        outlier_rate: ``outliers.rate`` (and the MAD rate); ``residual_rate`` set separately.
        classes: class (or label) names, or their number; defaults 2 (binary), 3, 5 (ordinal).
        ratio: majority/minority ratio (multilabel: the rarest label's), kept exactly.
        class_counts: explicit counts, instead of ``ratio``.
        target: TargetStats overrides (``skewness=3.1``, ``dispersion=4.0``, ...).
    """
    task = Task(task)
    encoding = LabelEncoding(encoding or _DEFAULT_ENCODING[task])
    n_classes_default = {Task.BINARY: 2, Task.MULTICLASS: 3, Task.ORDINAL: 5, Task.MULTILABEL: 4}
    names: tuple[str, ...] | None = None
    imbalance = None
    if task.is_classification:
        if classes is None:
            classes = n_classes_default[task]
        if isinstance(classes, int):
            start = 1 if task is Task.ORDINAL else 0
            prefix = "label_" if task is Task.MULTILABEL else ""
            names = tuple(f"{prefix}{i}" for i in range(start, start + classes))
        else:
            names = tuple(classes)
        if class_counts is not None:
            names = tuple(class_counts)
        imbalance = _imbalance(task, names, n_rows, ratio, class_counts)

    if task.is_regression:
        stats = dict(_TARGET_DEFAULTS[task])
        stats.update(n=n_rows, n_unique=n_rows if task is not Task.REGRESSION_COUNT else 12)
    else:
        k = len(names or ())
        stats = dict(
            n=n_rows,
            n_unique=k,
            mean=(k - 1) / 2,
            std=1.0,
            min=0.0,
            max=float(k - 1),
            median=(k - 1) / 2,
            mad=1.0,
            skewness=0.0,
            zero_fraction=None,
            is_integer=True,
            is_non_negative=True,
        )
        if task is Task.ORDINAL:
            stats.update(
                min=1.0, max=float(k), median=(k + 1) / 2, mean=(k + 1) / 2, is_positive=True
            )
        if encoding is LabelEncoding.PLUS_MINUS_ONE:
            stats.update(min=-1.0, max=1.0, mean=0.0, median=0.0, is_non_negative=False)
    stats.update(target)
    stats.setdefault("iqr", None)

    feature_counts = {"numeric": n_features - n_categorical, "categorical": n_categorical}
    return DataProfile(
        target=("target",) if task is not Task.MULTILABEL else tuple(names or ()),
        target_detection="given by the test",
        task=task,
        label_encoding=encoding,
        confidence=confidence,
        n_rows=n_rows,
        n_columns=n_features + 1,
        target_stats=TargetStats(**stats),
        outliers=OutlierStats(
            mad_rate=outlier_rate,
            iqr_rate=outlier_rate * 0.8,
            residual_rate=residual_rate,
            rate=max(outlier_rate, residual_rate or 0.0),
        ),
        features=FeatureSummary(
            n_features=n_features, counts=feature_counts, missing_rate=missing_rate
        ),
        classes=names,
        imbalance=imbalance,
    )
