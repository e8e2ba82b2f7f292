"""ValidationScorer gives what score_metric (scikit-learn) gives, for every metric and task."""

from __future__ import annotations

import math

import numpy as np
import pytest

from advisor.records import MetricId, Task
from advisor.training import metric_applies, score_metric
from advisor.training._scorer import ValidationScorer

N = 120


def _truth(task: Task, rng: np.random.Generator, n_classes: int) -> np.ndarray:
    if task is Task.REGRESSION:
        return rng.normal(size=N) * 3
    if task is Task.REGRESSION_COUNT:
        return rng.poisson(2.0, size=N).astype(float)
    if task is Task.REGRESSION_POSITIVE:
        return rng.gamma(2.0, size=N)
    if task is Task.MULTILABEL:
        return (rng.random((N, 4)) < [0.5, 0.2, 0.05, 0.7]).astype(int)
    weights = np.linspace(1, 3, n_classes)
    return rng.choice(n_classes, size=N, p=weights / weights.sum())


def _predictions(task: Task, rng: np.random.Generator, n_classes: int) -> list[np.ndarray]:
    """Every form a loss's ``predict`` gives for the task, ties included."""
    if task.is_regression:
        points = rng.normal(size=N) * 3 + 1
        return [points, np.abs(points) + 0.1, np.round(points), np.full(N, 2.0)]
    if task is Task.MULTILABEL:
        proba = rng.random((N, 4))
        return [proba, np.round(proba, 1), np.zeros((N, 4))]
    if task is Task.BINARY:
        p = rng.random(N)
        return [p, np.round(p, 1), np.full(N, 0.3)]
    proba = rng.dirichlet(np.ones(n_classes), size=N)
    forms = [proba, np.round(proba, 1), np.tile(np.eye(n_classes)[0], (N, 1))]
    if task is Task.ORDINAL:
        forms.append(rng.normal(size=N) + n_classes / 2)  # points on the code scale
    return forms


TASKS = {
    Task.REGRESSION: 0,
    Task.REGRESSION_COUNT: 0,
    Task.REGRESSION_POSITIVE: 0,
    Task.BINARY: 2,
    Task.MULTICLASS: 4,
    Task.ORDINAL: 5,
    Task.MULTILABEL: 0,
}
CASES = [(task, metric) for task in TASKS for metric in MetricId if metric_applies(metric, task)]


def _same(got: float, want: float) -> None:
    if math.isnan(want):
        assert math.isnan(got)
    else:
        assert got == pytest.approx(want, rel=1e-12, abs=1e-12)


def _scorer(task: Task, metric: MetricId, y: np.ndarray) -> ValidationScorer:
    return ValidationScorer(metric, y, task=task, n_classes=TASKS[task], quantile=0.3)


# the pairs whose scores are left to scikit-learn (no numpy form): its input checks decide
DELEGATED = {
    (Task.REGRESSION, MetricId.POISSON_DEVIANCE),  # negative truth: scikit-learn refuses it
    *(
        (task, metric)
        for task in (Task.BINARY, Task.MULTICLASS, Task.ORDINAL)
        for metric in (MetricId.PR_AUC, MetricId.LOG_LOSS, MetricId.QWK)
    ),
    (Task.MULTICLASS, MetricId.ROC_AUC),
    (Task.ORDINAL, MetricId.ROC_AUC),
    *(
        (Task.MULTILABEL, metric)
        for metric in (MetricId.ROC_AUC, MetricId.PR_AUC, MetricId.LOG_LOSS, MetricId.BRIER)
    ),
}
FAST = [case for case in CASES if case not in DELEGATED]


def test_the_delegated_pairs_are_exactly_those_without_a_numpy_form() -> None:
    rng = np.random.default_rng(0)
    slow = {
        (task, metric)
        for task, metric in CASES
        if not _scorer(task, metric, _truth(task, rng, TASKS[task]))._fast
    }
    assert slow == DELEGATED


@pytest.mark.parametrize(("task", "metric"), FAST, ids=lambda v: getattr(v, "value", v))
@pytest.mark.parametrize("seed", [0, 1])
def test_scorer_matches_score_metric(task: Task, metric: MetricId, seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = _truth(task, rng, TASKS[task])
    scorer = _scorer(task, metric, y)
    assert scorer._fast
    for prediction in _predictions(task, rng, TASKS[task]):
        want = score_metric(metric, y, prediction, task=task, n_classes=TASKS[task], quantile=0.3)
        _same(scorer(prediction), want)


@pytest.mark.parametrize(
    ("task", "metric", "prediction"),
    [
        # counts scored on a truth with negative values: scikit-learn refuses them
        (Task.REGRESSION, MetricId.POISSON_DEVIANCE, lambda rng: np.full(N, 2.0)),
        # multiclass ROC AUC of rows that do not sum to one
        (Task.MULTICLASS, MetricId.ROC_AUC, lambda rng: np.round(rng.dirichlet(np.ones(4), N), 1)),
    ],
    ids=["negative-counts", "unnormalised-probabilities"],
)
def test_inputs_scikit_learn_refuses_are_refused_by_the_scorer_too(task, metric, prediction):
    rng = np.random.default_rng(0)
    y = _truth(task, rng, TASKS[task])
    scorer = _scorer(task, metric, y)
    p = prediction(rng)
    with pytest.raises(ValueError):
        score_metric(metric, y, p, task=task, n_classes=TASKS[task], quantile=0.3)
    with pytest.raises(ValueError):
        scorer(p)


@pytest.mark.parametrize(
    "metric", [MetricId.BALANCED_ACCURACY, MetricId.F1_MACRO, MetricId.ROC_AUC, MetricId.ACCURACY]
)
def test_a_class_missing_from_the_truth_or_the_predictions(metric: MetricId) -> None:
    """Classes absent from y (or only predicted) are counted as scikit-learn counts them."""
    rng = np.random.default_rng(3)
    y = rng.choice([0, 2], size=N)  # class 1 and 3 never occur
    for proba in (rng.dirichlet(np.ones(4), size=N), np.tile([0.1, 0.6, 0.2, 0.1], (N, 1))):
        scorer = ValidationScorer(metric, y, task=Task.MULTICLASS, n_classes=4)
        _same(scorer(proba), score_metric(metric, y, proba, task=Task.MULTICLASS, n_classes=4))


def test_one_class_and_constant_truth_give_scikit_learns_answers() -> None:
    y = np.ones(N, dtype=int)
    p = np.random.default_rng(0).random(N)
    roc = ValidationScorer(MetricId.ROC_AUC, y, task=Task.BINARY, n_classes=2)
    assert math.isnan(roc(p))
    flat = np.full(N, 2.0)
    r2 = ValidationScorer(MetricId.R2, flat, task=Task.REGRESSION)
    assert r2(flat) == score_metric(MetricId.R2, flat, flat, task=Task.REGRESSION) == 1.0
    assert r2(flat + 1) == score_metric(MetricId.R2, flat, flat + 1, task=Task.REGRESSION) == 0.0


def test_soft_targets_are_judged_on_their_most_likely_class() -> None:
    rng = np.random.default_rng(4)
    y = rng.dirichlet(np.ones(3), size=N)
    proba = rng.dirichlet(np.ones(3), size=N)
    for metric in (MetricId.ACCURACY, MetricId.F1_MACRO, MetricId.LOG_LOSS):
        scorer = ValidationScorer(metric, y, task=Task.MULTICLASS, n_classes=3)
        _same(scorer(proba), score_metric(metric, y, proba, task=Task.MULTICLASS, n_classes=3))


def test_non_finite_predictions_score_nan_and_negative_counts_go_to_scikit_learn() -> None:
    y = np.arange(N, dtype=float)
    scorer = ValidationScorer(MetricId.RMSE, y, task=Task.REGRESSION)
    assert math.isnan(scorer(np.full(N, np.nan)))
    negative = y - 10
    deviance = ValidationScorer(MetricId.POISSON_DEVIANCE, negative, task=Task.REGRESSION)
    with pytest.raises(ValueError):
        score_metric(MetricId.POISSON_DEVIANCE, negative, y, task=Task.REGRESSION)
    with pytest.raises(ValueError):
        deviance(y)
