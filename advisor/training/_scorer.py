"""The validation metric of one split, scored for many members and evaluations without overhead.

A short run scores every member on the validation rows about 30 times (early stopping and
pruning need it), so a search of a few hundred member-runs makes thousands of metric calls.
scikit-learn's metric functions check and re-derive their inputs on every call, which took
about half the time of a stacked run (figures: benchmarks/README.md). ``ValidationScorer``
prepares what depends on the true values once and computes the common metrics with a few
numpy passes. It gives what
``score_metric`` (scikit-learn) gives up to float rounding, which tests check for every
metric and task; the metrics it has no form for are passed on to ``score_metric`` itself.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import xlogy
from scipy.stats import rankdata

from advisor.records import MetricId, Task
from advisor.training._metrics import _EPS, _REGRESSION, _labels, _probabilities, score_metric

__all__ = ["ValidationScorer"]

_REGRESSION_FORMS = frozenset(_REGRESSION)  # a numpy form for every regression metric
_CLASS_FORMS = frozenset(
    {
        MetricId.ACCURACY,
        MetricId.BALANCED_ACCURACY,
        MetricId.F1_MACRO,
        MetricId.F1_MICRO,
        MetricId.MAE_INDEX,
        MetricId.BRIER,
        MetricId.ROC_AUC,
    }
)
_MULTILABEL_FORMS = frozenset({MetricId.ACCURACY, MetricId.F1_MACRO, MetricId.F1_MICRO})


def _f1(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    """F1 per label as scikit-learn defines it with ``zero_division=0``."""
    denominator = 2 * tp + fp + fn
    return np.divide(2 * tp, denominator, out=np.zeros(len(tp)), where=denominator > 0)


def _binary_auc(positive: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC as the Mann-Whitney statistic on average ranks (ties count one half)."""
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    ranks = rankdata(score)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


class ValidationScorer:
    """``score_metric`` for a fixed truth: call it with one member's prediction.

    Args:
        metric, task, n_classes, quantile: as for ``score_metric``.
        y_true: the validation rows' canonical target.
    """

    def __init__(
        self,
        metric: MetricId,
        y_true: np.ndarray,
        *,
        task: Task,
        n_classes: int = 0,
        quantile: float = 0.5,
    ) -> None:
        self.metric, self.task, self.n_classes, self.quantile = metric, task, n_classes, quantile
        self.y_true = np.asarray(y_true)
        self._fast = self._has_form()
        if not self._fast:
            return
        if task.is_regression or self._ordinal_points:
            self._y = self.y_true.astype(np.float64).reshape(-1)
            if self._ordinal_points and self.y_true.ndim == 2:
                self._y = self.y_true.argmax(axis=1).astype(np.float64)
            if metric is MetricId.GAMMA_DEVIANCE:
                self._y = np.maximum(self._y, _EPS)
            self._y_sum_sq = float(np.sum((self._y - self._y.mean()) ** 2))
        elif task is Task.MULTILABEL:
            self._y = self.y_true.astype(bool)
        else:
            labels = self.y_true.argmax(axis=1) if self.y_true.ndim == 2 else self.y_true
            # soft binary labels are scored as they are by the Brier score, by their nearer
            # class elsewhere (hard labels are unchanged by rint)
            self._soft = labels.astype(np.float64)
            self._y = np.rint(labels).astype(int)
            self._width = max(n_classes, 2)
            self._counts = np.bincount(self._y, minlength=self._width)
            self._present = np.flatnonzero(self._counts)

    @property
    def _ordinal_points(self) -> bool:
        return self.task is Task.ORDINAL and self.metric in (MetricId.MAE, MetricId.RMSE)

    def _has_form(self) -> bool:
        if self.task.is_regression:
            if self.metric is MetricId.POISSON_DEVIANCE:
                # scikit-learn refuses negative counts: let it say so
                return bool(np.all(np.asarray(self.y_true, dtype=np.float64) >= 0))
            return self.metric in _REGRESSION_FORMS
        if self.task is Task.MULTILABEL:
            return self.metric in _MULTILABEL_FORMS
        if self.metric is MetricId.ROC_AUC and self.n_classes > 2:
            return False  # scikit-learn's checks of the probabilities decide there
        return self._ordinal_points or self.metric in _CLASS_FORMS

    def __call__(self, prediction: np.ndarray) -> float:
        """The metric of ``prediction`` (NaN where ``score_metric`` gives NaN)."""
        if not self._fast:
            return score_metric(
                self.metric,
                self.y_true,
                prediction,
                task=self.task,
                n_classes=self.n_classes,
                quantile=self.quantile,
            )
        prediction = np.asarray(prediction, dtype=np.float64)
        if not np.all(np.isfinite(prediction)):
            return math.nan
        if self.task.is_regression:
            return self._regression(prediction.reshape(-1))
        if self.task is Task.MULTILABEL:
            return self._multilabel(prediction >= 0.5)
        if self._ordinal_points:
            levels = _labels(_probabilities(prediction, self.n_classes), MetricId.MAE_INDEX)
            return self._regression(levels.astype(np.float64))
        return self._classification(_probabilities(prediction, self._width))

    def _regression(self, p: np.ndarray) -> float:
        y, metric = self._y, self.metric
        if metric is MetricId.MAE:
            return float(np.mean(np.abs(p - y)))
        if metric is MetricId.RMSE:
            return float(np.sqrt(np.mean((y - p) ** 2)))
        if metric is MetricId.MEDIAN_AE:
            return float(np.median(np.abs(p - y)))
        if metric is MetricId.R2:
            residual = float(np.sum((y - p) ** 2))
            if self._y_sum_sq == 0:  # scikit-learn's force_finite convention
                return 1.0 if residual == 0 else 0.0
            return 1.0 - residual / self._y_sum_sq
        if metric is MetricId.POISSON_DEVIANCE:
            p = np.maximum(p, _EPS)
            return float(np.mean(2 * (xlogy(y, y / p) - y + p)))
        if metric is MetricId.GAMMA_DEVIANCE:
            p = np.maximum(p, _EPS)
            return float(np.mean(2 * (np.log(p / y) + y / p - 1)))
        diff = y - p  # pinball
        sign = (diff >= 0).astype(np.float64)
        q = self.quantile
        return float(np.mean(q * sign * diff - (1 - q) * (1 - sign) * diff))

    def _classification(self, proba: np.ndarray) -> float:
        y, metric = self._y, self.metric
        if metric is MetricId.BRIER:
            if self._width == 2:
                return float(np.mean((proba[:, 1] - self._soft) ** 2))
            return float(np.mean(np.sum((proba - np.eye(self._width)[y]) ** 2, axis=1)))
        if metric is MetricId.ROC_AUC:
            return self._roc_auc(proba)
        labels = _labels(proba, metric)
        if metric is MetricId.MAE_INDEX:
            return float(np.mean(np.abs(labels - y)))
        hit = labels == y
        if metric in (MetricId.ACCURACY, MetricId.F1_MICRO):
            # single-label micro F1 counts each miss once as fp and once as fn: the accuracy
            return float(np.mean(hit))
        tp = np.bincount(y[hit], minlength=self._width).astype(np.float64)
        if metric is MetricId.BALANCED_ACCURACY:
            return float(np.mean(tp[self._present] / self._counts[self._present]))
        predicted = np.bincount(labels, minlength=self._width)
        seen = np.flatnonzero((self._counts > 0) | (predicted > 0))
        fp, fn = predicted - tp, self._counts - tp
        return float(np.mean(_f1(tp[seen], fp[seen], fn[seen])))  # macro F1

    def _roc_auc(self, proba: np.ndarray) -> float:
        if self._present.size < 2:
            return math.nan
        return _binary_auc(self._y == 1, proba[:, 1])

    def _multilabel(self, hard: np.ndarray) -> float:
        y = self._y
        if self.metric is MetricId.ACCURACY:
            return float(np.mean(np.all(hard == y, axis=1)))
        tp = np.sum(hard & y, axis=0).astype(np.float64)
        fp = np.sum(hard & ~y, axis=0).astype(np.float64)
        fn = np.sum(~hard & y, axis=0).astype(np.float64)
        if self.metric is MetricId.F1_MICRO:
            totals = [counts.sum(keepdims=True) for counts in (tp, fp, fn)]
            return float(_f1(*totals)[0])
        return float(np.mean(_f1(tp, fp, fn)))
