"""The fields a rule may test: a flat, documented view of a DataProfile plus the objective.

Rules name fields as dotted strings (``outliers.rate``); this registry is the closed list the
loader validates against (with "did you mean") and the one place that reads a profile for rules.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Any

from advisor.records import (
    DataProfile,
    ImbalanceLevel,
    LabelEncoding,
    MetricId,
    Objective,
    ObjectiveKind,
    Task,
)

__all__ = ["FIELDS", "FieldSpec", "profile_fields"]

#: The least noise scale, as a share of the target's robust scale (``target.noise_scale``).
NOISE_FLOOR = 0.1


class FieldType(enum.StrEnum):
    NUMBER = "number"
    BOOL = "bool"
    CHOICE = "choice"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class FieldSpec:
    name: str
    type: FieldType
    doc: str
    choices: tuple[str, ...] = ()


def _number(name: str, doc: str) -> FieldSpec:
    return FieldSpec(name=name, type=FieldType.NUMBER, doc=doc)


def _flag(name: str, doc: str) -> FieldSpec:
    return FieldSpec(name=name, type=FieldType.BOOL, doc=doc)


def _choice(name: str, doc: str, vocabulary: type[enum.StrEnum]) -> FieldSpec:
    return FieldSpec(
        name=name, type=FieldType.CHOICE, doc=doc, choices=tuple(m.value for m in vocabulary)
    )


FIELDS: Mapping[str, FieldSpec] = {
    spec.name: spec
    for spec in (
        _choice("task", "detected (or --task) task id", Task),
        _choice("label_encoding", "how the target is encoded", LabelEncoding),
        _number("task_confidence", "confidence of the task detection, 0..1"),
        _number("n_rows", "rows with a target"),
        _number("n_features", "feature columns"),
        _number("n_classes", "classes (labels for multilabel); 0 for regression"),
        _choice("objective", "the user's --objective", ObjectiveKind),
        _number("objective.quantile", "Q of --objective quantile:Q"),
        FieldSpec(
            name="metric",
            type=FieldType.CHOICE,
            doc="the metric the user judges by (--metric), or auto",
            choices=("auto", *(m.value for m in MetricId)),
        ),
        _number("imbalance.ratio", "majority/minority class count"),
        _number("imbalance.minority_share", "share of the smallest class"),
        _number("imbalance.positive_rate", "binary: share of the positive (second) class"),
        _choice("imbalance.level", "balanced / mild / strong / extreme", ImbalanceLevel),
        _number("outliers.rate", "largest of the outlier rates measured"),
        _number("outliers.mad_rate", "share with modified z-score > 3.5"),
        _number("outliers.iqr_rate", "share outside 3 IQR fences"),
        _number("outliers.residual_rate", "share of robust-fit residuals with modified z > 3.5"),
        _number("target.mean", "mean of the target"),
        _number("target.median", "median of the target"),
        _number("target.min", "minimum of the target"),
        _number("target.max", "maximum of the target"),
        _number("target.robust_scale", "1.4826 x MAD of the target (std if MAD is 0)"),
        _number(
            "target.noise_scale",
            "1.4826 x MAD of a robust linear fit's residuals, within 0.1-1 x "
            "target.robust_scale (that scale without numeric features)",
        ),
        _number("target.skewness", "sample skewness"),
        _number("target.kurtosis", "excess kurtosis"),
        _number("target.tail_index", "Hill estimate of the upper tail index"),
        _number("target.zero_fraction", "share of zeros"),
        _number("target.dispersion", "variance / mean (counts)"),
        _number("target.n_unique", "distinct target values"),
        _flag("target.is_integer", "all values whole numbers"),
        _flag("target.is_positive", "all values > 0"),
        _flag("target.is_non_negative", "all values >= 0"),
        _flag("target.in_unit_interval", "all values in [0, 1]"),
        _number("features.missing_rate", "share of missing feature cells"),
        _number("features.n_categorical", "categorical feature columns"),
        _number("features.n_numeric", "numeric feature columns"),
        _number("features.max_abs_z", "farthest numeric feature value from its mean, in SDs"),
    )
}


def _robust_scale(profile: DataProfile) -> float | None:
    stats = profile.target_stats
    if stats.mad:
        return 1.4826 * stats.mad
    return stats.std


def _noise_scale(profile: DataProfile) -> float | None:
    """The spread the features leave unexplained: Huber's delta is a multiple of the noise's
    scale, not of the target's, or a well-fitted target's gross errors keep the weight of many
    ordinary rows each.

    Kept within 0.1-1 x the target's robust scale: what is left is never more than the whole
    spread (predicting the median leaves that), and a fit exact on most rows of a discrete
    target measures no noise at all, where a delta near zero would leave no gradient.
    """
    whole = _robust_scale(profile)
    measured = profile.evidence.get("residual_fit_scale")
    if not whole or measured is None:
        return whole
    return float(min(max(float(measured), NOISE_FLOOR * whole), whole))


def _positive_rate(profile: DataProfile) -> float | None:
    if profile.task is not Task.BINARY or profile.imbalance is None:
        return None
    counts = list(profile.imbalance.class_counts.values())
    return counts[1] / sum(counts) if len(counts) == 2 and sum(counts) else None


def profile_fields(
    profile: DataProfile, objective: Objective, metric: MetricId | None = None
) -> dict[str, Any]:
    """Flatten a profile, the objective and the user's metric into the values rules test.

    None means not measured; ``metric`` is ``auto`` unless the user named one.

    Example:
        >>> from advisor.selection._fields import FIELDS
        >>> FIELDS["outliers.rate"].type.value
        'number'
    """
    stats, imbalance, outliers = profile.target_stats, profile.imbalance, profile.outliers
    feature_counts = profile.features.counts
    values: dict[str, Any] = {
        "task": profile.task.value,
        "label_encoding": profile.label_encoding.value,
        "task_confidence": profile.confidence,
        "n_rows": profile.n_rows,
        "n_features": profile.features.n_features,
        "n_classes": profile.n_classes,
        "objective": objective.kind.value,
        "objective.quantile": objective.quantile,
        "metric": metric.value if metric is not None else "auto",
        "imbalance.ratio": imbalance.ratio if imbalance else None,
        "imbalance.minority_share": imbalance.minority_share if imbalance else None,
        "imbalance.positive_rate": _positive_rate(profile),
        "imbalance.level": imbalance.level.value if imbalance else None,
        "outliers.rate": outliers.rate,
        "outliers.mad_rate": outliers.mad_rate,
        "outliers.iqr_rate": outliers.iqr_rate,
        "outliers.residual_rate": outliers.residual_rate,
        "target.mean": stats.mean,
        "target.median": stats.median,
        "target.min": stats.min,
        "target.max": stats.max,
        "target.robust_scale": _robust_scale(profile),
        "target.noise_scale": _noise_scale(profile),
        "target.skewness": stats.skewness,
        "target.kurtosis": stats.kurtosis,
        "target.tail_index": stats.tail_index,
        "target.zero_fraction": stats.zero_fraction,
        "target.dispersion": stats.dispersion,
        "target.n_unique": stats.n_unique,
        "target.is_integer": stats.is_integer,
        "target.is_positive": stats.is_positive,
        "target.is_non_negative": stats.is_non_negative,
        "target.in_unit_interval": stats.in_unit_interval,
        "features.missing_rate": profile.features.missing_rate,
        "features.n_categorical": feature_counts.get("categorical", 0),
        "features.n_numeric": feature_counts.get("numeric", 0),
        "features.max_abs_z": profile.evidence.get("feature_max_abs_z"),
    }
    missing = set(FIELDS) - set(values)
    assert not missing, f"profile_fields does not fill {sorted(missing)}"
    return values
