"""score_metric: every SPEC metric against scikit-learn directly, for each prediction form."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn import metrics as skm

from advisor.errors import UsageError
from advisor.records import Direction, MetricId, Task
from advisor.training import metric_applies, metric_direction, score_metric

M = MetricId

# ----------------------------------------------------------------------------- regression

Y_REG = np.array([1.0, 2.5, 3.0, 7.0, 0.5, 4.0])
P_REG = np.array([1.5, 2.0, 3.5, 5.0, 0.7, 4.4])

REGRESSION = {
    M.MAE: skm.mean_absolute_error(Y_REG, P_REG),
    M.RMSE: math.sqrt(skm.mean_squared_error(Y_REG, P_REG)),
    M.MEDIAN_AE: skm.median_absolute_error(Y_REG, P_REG),
    M.R2: skm.r2_score(Y_REG, P_REG),
    M.POISSON_DEVIANCE: skm.mean_poisson_deviance(Y_REG, P_REG),
    M.GAMMA_DEVIANCE: skm.mean_gamma_deviance(Y_REG, P_REG),
    M.PINBALL: skm.mean_pinball_loss(Y_REG, P_REG, alpha=0.9),
}


@pytest.mark.parametrize("metric", sorted(REGRESSION))
def test_regression_points(metric: MetricId) -> None:
    got = score_metric(metric, Y_REG, P_REG, task=Task.REGRESSION, quantile=0.9)
    assert got == pytest.approx(REGRESSION[metric], rel=1e-12)


def test_regression_accepts_a_column_of_points_and_clips_deviance_domains() -> None:
    assert score_metric(M.MAE, Y_REG, P_REG.reshape(-1, 1), task=Task.REGRESSION) == (
        pytest.approx(REGRESSION[M.MAE])
    )
    # a non-positive prediction would make sklearn's deviance raise: it is clipped instead
    value = score_metric(M.POISSON_DEVIANCE, Y_REG, np.array([0.0, 1, 1, 1, 1, 1]),
                         task=Task.REGRESSION_COUNT)
    assert math.isfinite(value) and value > 0


# ----------------------------------------------------------------------------- binary

Y_BIN = np.array([0, 1, 1, 0, 1, 0, 0, 1])
P_BIN = np.array([0.2, 0.7, 0.4, 0.1, 0.9, 0.6, 0.3, 0.8])
L_BIN = (P_BIN >= 0.5).astype(int)
PROBA_BIN = np.column_stack([1 - P_BIN, P_BIN])

BINARY = {
    M.ACCURACY: skm.accuracy_score(Y_BIN, L_BIN),
    M.BALANCED_ACCURACY: skm.balanced_accuracy_score(Y_BIN, L_BIN),
    M.F1_MACRO: skm.f1_score(Y_BIN, L_BIN, average="macro"),
    M.F1_MICRO: skm.f1_score(Y_BIN, L_BIN, average="micro"),
    M.ROC_AUC: skm.roc_auc_score(Y_BIN, P_BIN),
    M.PR_AUC: skm.average_precision_score(Y_BIN, P_BIN),
    M.LOG_LOSS: skm.log_loss(Y_BIN, P_BIN),
    M.BRIER: skm.brier_score_loss(Y_BIN, P_BIN),
}


@pytest.mark.parametrize("metric", sorted(BINARY))
@pytest.mark.parametrize("form", ["p1", "proba"])
def test_binary_probability_forms(metric: MetricId, form: str) -> None:
    prediction = P_BIN if form == "p1" else PROBA_BIN
    got = score_metric(metric, Y_BIN, prediction, task=Task.BINARY, n_classes=2)
    assert got == pytest.approx(BINARY[metric], rel=1e-9)


# ----------------------------------------------------------------------------- multiclass

Y_MC = np.array([0, 1, 2, 2, 1, 0, 2, 1])
P_MC = np.array([
    [0.7, 0.2, 0.1],
    [0.1, 0.5, 0.4],
    [0.2, 0.2, 0.6],
    [0.3, 0.4, 0.3],
    [0.2, 0.6, 0.2],
    [0.4, 0.5, 0.1],
    [0.1, 0.1, 0.8],
    [0.3, 0.3, 0.4],
])
L_MC = P_MC.argmax(axis=1)

MULTICLASS = {
    M.ACCURACY: skm.accuracy_score(Y_MC, L_MC),
    M.BALANCED_ACCURACY: skm.balanced_accuracy_score(Y_MC, L_MC),
    M.F1_MACRO: skm.f1_score(Y_MC, L_MC, average="macro"),
    M.F1_MICRO: skm.f1_score(Y_MC, L_MC, average="micro"),
    M.ROC_AUC: skm.roc_auc_score(Y_MC, P_MC, multi_class="ovr", average="macro"),
    M.PR_AUC: skm.average_precision_score(np.eye(3)[Y_MC], P_MC, average="macro"),
    M.LOG_LOSS: skm.log_loss(Y_MC, P_MC),
    M.BRIER: skm.brier_score_loss(Y_MC, P_MC),
    M.QWK: skm.cohen_kappa_score(Y_MC, L_MC, weights="quadratic"),
}


@pytest.mark.parametrize("metric", sorted(MULTICLASS))
def test_multiclass_probabilities(metric: MetricId) -> None:
    got = score_metric(metric, Y_MC, P_MC, task=Task.MULTICLASS, n_classes=3)
    assert got == pytest.approx(MULTICLASS[metric], rel=1e-9)


@pytest.mark.parametrize("metric", [M.ACCURACY, M.F1_MACRO, M.BALANCED_ACCURACY])
def test_soft_targets_are_judged_on_their_most_likely_class(metric: MetricId) -> None:
    soft = np.full((len(Y_MC), 3), 0.1)
    soft[np.arange(len(Y_MC)), Y_MC] = 0.8
    got = score_metric(metric, soft, P_MC, task=Task.MULTICLASS, n_classes=3)
    assert got == pytest.approx(MULTICLASS[metric])


# ----------------------------------------------------------------------------- ordinal

Y_ORD = np.array([0, 1, 2, 3, 3, 1, 0, 2])
P_ORD = np.array([
    [0.30, 0.30, 0.20, 0.20],  # argmax 0, median 1 (cumulative 0.3, 0.6)
    [0.10, 0.20, 0.30, 0.40],  # argmax 3, median 2 (0.1, 0.3, 0.6)
    [0.05, 0.05, 0.50, 0.40],  # argmax 2, median 2
    [0.40, 0.00, 0.00, 0.60],  # argmax 3, median 3 (0.4, 0.4, 0.4, 1.0)
    [0.00, 0.00, 0.45, 0.55],  # argmax 3, median 3
    [0.45, 0.10, 0.05, 0.40],  # argmax 0, median 1 (0.45, 0.55)
    [0.90, 0.10, 0.00, 0.00],  # argmax 0, median 0
    [0.20, 0.20, 0.20, 0.40],  # argmax 3, median 2 (0.2, 0.4, 0.6)
])
MEDIAN_ORD = np.array([1, 2, 2, 3, 3, 1, 0, 2])
ARGMAX_ORD = P_ORD.argmax(axis=1)


def test_ordinal_mae_index_uses_the_median_level() -> None:
    got = score_metric(M.MAE_INDEX, Y_ORD, P_ORD, task=Task.ORDINAL, n_classes=4)
    assert got == pytest.approx(skm.mean_absolute_error(Y_ORD, MEDIAN_ORD))
    assert got != pytest.approx(skm.mean_absolute_error(Y_ORD, ARGMAX_ORD))


@pytest.mark.parametrize("metric,expected", [
    (M.MAE, skm.mean_absolute_error(Y_ORD, MEDIAN_ORD)),
    (M.RMSE, math.sqrt(skm.mean_squared_error(Y_ORD, MEDIAN_ORD))),
    (M.QWK, skm.cohen_kappa_score(Y_ORD, ARGMAX_ORD, weights="quadratic")),
    (M.ACCURACY, skm.accuracy_score(Y_ORD, ARGMAX_ORD)),
])
def test_ordinal_probabilities(metric: MetricId, expected: float) -> None:
    assert score_metric(metric, Y_ORD, P_ORD, task=Task.ORDINAL, n_classes=4) == (
        pytest.approx(expected)
    )


def test_ordinal_points_from_a_regression_loss_are_rounded_to_levels() -> None:
    points = np.array([0.4, 1.6, 2.2, 3.7, 2.6, 0.9, -0.8, 1.4])
    levels = np.clip(np.rint(points), 0, 3).astype(int)  # [0, 2, 2, 3, 3, 1, 0, 1]
    for metric, expected in [
        (M.MAE_INDEX, skm.mean_absolute_error(Y_ORD, levels)),
        (M.QWK, skm.cohen_kappa_score(Y_ORD, levels, weights="quadratic")),
        (M.ACCURACY, skm.accuracy_score(Y_ORD, levels)),
        (M.MAE, skm.mean_absolute_error(Y_ORD, levels)),
    ]:
        got = score_metric(metric, Y_ORD, points, task=Task.ORDINAL, n_classes=4)
        assert got == pytest.approx(expected), metric


# ----------------------------------------------------------------------------- multilabel

Y_ML = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 1], [1, 0, 0], [0, 1, 1]])
P_ML = np.array([
    [0.8, 0.3, 0.6],
    [0.2, 0.7, 0.4],
    [0.6, 0.4, 0.2],
    [0.1, 0.2, 0.9],
    [0.7, 0.6, 0.3],
    [0.4, 0.8, 0.55],
])
H_ML = (P_ML >= 0.5).astype(int)
CLIPPED = np.clip(P_ML, 1e-7, 1 - 1e-7)

MULTILABEL = {
    M.F1_MACRO: skm.f1_score(Y_ML, H_ML, average="macro"),
    M.F1_MICRO: skm.f1_score(Y_ML, H_ML, average="micro"),
    M.ACCURACY: skm.accuracy_score(Y_ML, H_ML),  # subset accuracy
    M.ROC_AUC: skm.roc_auc_score(Y_ML, P_ML, average="macro"),
    M.PR_AUC: skm.average_precision_score(Y_ML, P_ML, average="macro"),
    M.LOG_LOSS: float(-np.mean(Y_ML * np.log(CLIPPED) + (1 - Y_ML) * np.log(1 - CLIPPED))),
    M.BRIER: float(np.mean((P_ML - Y_ML) ** 2)),
}


@pytest.mark.parametrize("metric", sorted(MULTILABEL))
def test_multilabel_label_probabilities(metric: MetricId) -> None:
    got = score_metric(metric, Y_ML, P_ML, task=Task.MULTILABEL, n_classes=3)
    assert got == pytest.approx(MULTILABEL[metric], rel=1e-9)


@pytest.mark.parametrize("metric", [M.BALANCED_ACCURACY, M.QWK, M.MAE_INDEX])
def test_multilabel_rejects_single_label_metrics(metric: MetricId) -> None:
    with pytest.raises(UsageError, match="not defined for multilabel"):
        score_metric(metric, Y_ML, P_ML, task=Task.MULTILABEL, n_classes=3)


# ----------------------------------------------------------------------------- undefined


@pytest.mark.parametrize("task,y,prediction,n_classes", [
    (Task.REGRESSION, Y_REG, np.where(np.arange(6) == 2, np.nan, P_REG), 0),
    (Task.REGRESSION, Y_REG, np.where(np.arange(6) == 2, np.inf, P_REG), 0),
    (Task.BINARY, Y_BIN, np.where(np.arange(8) == 0, np.nan, P_BIN), 2),
    (Task.MULTICLASS, Y_MC, np.where(np.arange(3) == 1, np.nan, P_MC), 3),
])
def test_non_finite_predictions_score_nan(task, y, prediction, n_classes) -> None:
    metric = M.MAE if task.is_regression else M.ACCURACY
    assert math.isnan(score_metric(metric, y, prediction, task=task, n_classes=n_classes))


@pytest.mark.parametrize("metric", [M.ROC_AUC, M.PR_AUC])
def test_ranking_metrics_with_one_class_are_nan(metric: MetricId) -> None:
    ones = np.ones(5, dtype=int)
    assert math.isnan(score_metric(metric, ones, np.linspace(0.1, 0.9, 5), task=Task.BINARY,
                                   n_classes=2))


def test_multiclass_roc_auc_with_a_missing_class_is_nan() -> None:
    y = np.array([0, 1, 0, 1])
    proba = np.full((4, 3), 1 / 3)
    assert math.isnan(score_metric(M.ROC_AUC, y, proba, task=Task.MULTICLASS, n_classes=3))


# ----------------------------------------------------------------------------- direction

MAXIMIZE = {M.R2, M.ACCURACY, M.BALANCED_ACCURACY, M.F1_MACRO, M.F1_MICRO, M.ROC_AUC, M.PR_AUC,
            M.QWK}


@pytest.mark.parametrize("metric", list(MetricId))
def test_metric_direction(metric: MetricId) -> None:
    want = Direction.MAXIMIZE if metric in MAXIMIZE else Direction.MINIMIZE
    assert metric_direction(metric) is want


@pytest.mark.parametrize("direction", list(Direction))
def test_optuna_takes_a_direction_as_it_is(direction: Direction) -> None:
    import optuna

    study = optuna.create_study(direction=direction)
    assert study.direction.name.lower() == direction.value


@pytest.mark.parametrize("metric,task,applies", [
    (M.RMSE, Task.REGRESSION, True),
    (M.ACCURACY, Task.REGRESSION, False),
    (M.ROC_AUC, Task.BINARY, True),
    (M.MAE_INDEX, Task.BINARY, False),
    (M.RMSE, Task.MULTICLASS, False),
    (M.MAE_INDEX, Task.ORDINAL, True),
    (M.QWK, Task.ORDINAL, True),
    (M.MAE, Task.ORDINAL, True),
    (M.R2, Task.ORDINAL, False),
    (M.POISSON_DEVIANCE, Task.REGRESSION_COUNT, True),
])
def test_metric_applies(metric: MetricId, task: Task, applies: bool) -> None:
    assert metric_applies(metric, task) is applies
