"""Loss-independent validation metrics (SPEC ids) on the original target scale, via scikit-learn.

Every candidate is judged by the same metric on the same rows, whatever it was trained with.
Predictions arrive in the forms the loss catalog's ``predict`` gives: a point per row for
regression losses, the positive-class probability for binary, class probabilities (N, C) for
multiclass/ordinal, label probabilities (N, L) for multilabel. Ordinal runs trained with a
regression loss give points on the code scale; they are rounded to the nearest level.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from sklearn import metrics as skm

from advisor.errors import UsageError
from advisor.records import Direction, MetricId, Task

__all__ = ["HIGHER_IS_BETTER", "metric_direction", "metric_applies", "score_metric"]

HIGHER_IS_BETTER = frozenset(
    {
        MetricId.R2,
        MetricId.ACCURACY,
        MetricId.BALANCED_ACCURACY,
        MetricId.F1_MACRO,
        MetricId.F1_MICRO,
        MetricId.ROC_AUC,
        MetricId.PR_AUC,
        MetricId.QWK,
    }
)
_REGRESSION = {
    MetricId.MAE,
    MetricId.RMSE,
    MetricId.MEDIAN_AE,
    MetricId.R2,
    MetricId.POISSON_DEVIANCE,
    MetricId.GAMMA_DEVIANCE,
    MetricId.PINBALL,
}
_ORDINAL_EXTRA = {MetricId.MAE_INDEX, MetricId.QWK, MetricId.MAE, MetricId.RMSE}
_EPS = 1e-9


def metric_direction(metric: MetricId) -> Direction:
    """Whether better scores of ``metric`` are higher; the values are Optuna's direction names.

    Example:
        >>> metric_direction(MetricId.BALANCED_ACCURACY), metric_direction(MetricId.RMSE)
        (<Direction.MAXIMIZE: 'maximize'>, <Direction.MINIMIZE: 'minimize'>)
        >>> metric_direction(MetricId.RMSE) == "minimize"  # a str, as Optuna takes it
        True
    """
    return Direction.MAXIMIZE if metric in HIGHER_IS_BETTER else Direction.MINIMIZE


# what ``_multilabel`` scores: per-label or per-entry metrics of independent 0/1 labels
_MULTILABEL = frozenset(
    {
        MetricId.F1_MACRO,
        MetricId.F1_MICRO,
        MetricId.ACCURACY,
        MetricId.ROC_AUC,
        MetricId.PR_AUC,
        MetricId.LOG_LOSS,
        MetricId.BRIER,
    }
)


def metric_applies(metric: MetricId, task: Task) -> bool:
    if task.is_regression:
        return metric in _REGRESSION
    if task is Task.ORDINAL:
        return metric not in _REGRESSION or metric in _ORDINAL_EXTRA
    if task is Task.MULTILABEL:
        return metric in _MULTILABEL
    return metric not in _REGRESSION and metric not in (MetricId.MAE_INDEX,)


def _probabilities(prediction: np.ndarray, n_classes: int) -> np.ndarray:
    """(N, C) class probabilities from any classification prediction form."""
    prediction = np.asarray(prediction, dtype=np.float64)
    if prediction.ndim == 2 and prediction.shape[1] == n_classes:
        return prediction
    if n_classes == 2:
        p = np.clip(prediction.reshape(-1), 0.0, 1.0)
        return np.column_stack([1.0 - p, p])
    levels = np.clip(np.rint(prediction.reshape(-1)), 0, n_classes - 1).astype(int)
    return np.eye(n_classes)[levels]


def _labels(probabilities: np.ndarray, metric: MetricId) -> np.ndarray:
    if metric is MetricId.MAE_INDEX:
        # the median of the predicted distribution minimises the expected absolute error
        return (np.cumsum(probabilities, axis=1) >= 0.5).argmax(axis=1)
    return probabilities.argmax(axis=1)


def _regression(metric: MetricId, y: np.ndarray, p: np.ndarray, quantile: float) -> float:
    if metric is MetricId.MAE:
        return float(skm.mean_absolute_error(y, p))
    if metric is MetricId.RMSE:
        return float(skm.root_mean_squared_error(y, p))
    if metric is MetricId.MEDIAN_AE:
        return float(skm.median_absolute_error(y, p))
    if metric is MetricId.R2:
        return float(skm.r2_score(y, p))
    if metric is MetricId.POISSON_DEVIANCE:
        return float(skm.mean_poisson_deviance(y, np.maximum(p, _EPS)))
    if metric is MetricId.GAMMA_DEVIANCE:
        return float(skm.mean_gamma_deviance(np.maximum(y, _EPS), np.maximum(p, _EPS)))
    return float(skm.mean_pinball_loss(y, p, alpha=quantile))


def _multilabel(metric: MetricId, y: np.ndarray, p: np.ndarray) -> float:
    hard = (p >= 0.5).astype(int)
    if metric is MetricId.F1_MACRO:
        return float(skm.f1_score(y, hard, average="macro", zero_division=0))
    if metric is MetricId.F1_MICRO:
        return float(skm.f1_score(y, hard, average="micro", zero_division=0))
    if metric is MetricId.ACCURACY:
        return float(skm.accuracy_score(y, hard))
    if metric is MetricId.ROC_AUC:
        return float(skm.roc_auc_score(y, p, average="macro"))
    if metric is MetricId.PR_AUC:
        return float(skm.average_precision_score(y, p, average="macro"))
    if metric is MetricId.LOG_LOSS:
        clipped = np.clip(p, 1e-7, 1 - 1e-7)
        return float(-np.mean(y * np.log(clipped) + (1 - y) * np.log(1 - clipped)))
    if metric is MetricId.BRIER:
        return float(np.mean((p - y) ** 2))
    raise UsageError(f"metric {metric.value!r} is not defined for multilabel targets")


def _classification(metric: MetricId, y: np.ndarray, proba: np.ndarray) -> float:
    n_classes = proba.shape[1]
    labels = _labels(proba, metric)
    if metric is MetricId.ACCURACY:
        return float(skm.accuracy_score(y, labels))
    if metric is MetricId.BALANCED_ACCURACY:
        return float(skm.balanced_accuracy_score(y, labels))
    if metric is MetricId.F1_MACRO:
        return float(skm.f1_score(y, labels, average="macro", zero_division=0))
    if metric is MetricId.F1_MICRO:
        return float(skm.f1_score(y, labels, average="micro", zero_division=0))
    if metric is MetricId.MAE_INDEX:
        return float(np.mean(np.abs(labels - y)))
    if metric is MetricId.QWK:
        return float(skm.cohen_kappa_score(y, labels, weights="quadratic"))
    if metric is MetricId.LOG_LOSS:
        return float(skm.log_loss(y, np.clip(proba, 1e-7, 1.0), labels=list(range(n_classes))))
    if metric is MetricId.BRIER:
        if n_classes == 2:  # the usual binary Brier score: (p1 - y)^2, as scikit-learn's
            return float(np.mean((proba[:, 1] - y) ** 2))
        onehot = np.eye(n_classes)[y]
        return float(np.mean(np.sum((proba - onehot) ** 2, axis=1)))
    present = np.unique(y)
    if present.size < 2:
        return math.nan
    if metric is MetricId.ROC_AUC:
        if n_classes == 2:
            return float(skm.roc_auc_score(y, proba[:, 1]))
        if present.size < n_classes:
            return math.nan
        return float(skm.roc_auc_score(y, proba, multi_class="ovr", average="macro"))
    if metric is MetricId.PR_AUC:
        if n_classes == 2:
            return float(skm.average_precision_score(y, proba[:, 1]))
        onehot = np.eye(n_classes)[y]
        return float(skm.average_precision_score(onehot, proba, average="macro"))
    raise UsageError(f"metric {metric.value!r} is not defined for class targets")


def score_metric(
    metric: MetricId,
    y_true: np.ndarray,
    prediction: np.ndarray,
    *,
    task: Task,
    n_classes: int = 0,
    quantile: float = 0.5,
) -> float:
    """Score predictions against the canonical target; NaN when undefined (e.g. one class).

    Example:
        >>> import numpy as np
        >>> score_metric(MetricId.RMSE, np.array([1.0, 3.0]), np.array([2.0, 2.0]),
        ...              task=Task.REGRESSION)
        1.0
    """
    y_true = np.asarray(y_true)
    prediction = np.asarray(prediction, dtype=np.float64)
    if not np.all(np.isfinite(prediction)):
        return math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if task.is_regression:
            return _regression(metric, y_true.astype(np.float64), prediction.reshape(-1), quantile)
        if task is Task.MULTILABEL:
            return _multilabel(metric, y_true.astype(int), prediction)
        if y_true.ndim == 2:  # soft targets: judged on their most likely class
            y_true = y_true.argmax(axis=1)
        if task is Task.ORDINAL and metric in (MetricId.MAE, MetricId.RMSE):
            proba = _probabilities(prediction, n_classes)
            levels = _labels(proba, MetricId.MAE_INDEX)
            return _regression(metric, y_true.astype(np.float64), levels.astype(float), quantile)
        proba = _probabilities(prediction, max(n_classes, 2))
        if metric is MetricId.BRIER and proba.shape[1] == 2:
            # y may be soft binary labels (probabilities): the Brier score takes them as they are
            return float(np.mean((proba[:, 1] - y_true.astype(np.float64)) ** 2))
        return _classification(metric, np.rint(y_true).astype(int), proba)
