"""decide / paired_p_value: an honest, paired comparison; ties go to the rule prior."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from advisor.records import CandidateResult, LossId, MetricId
from advisor.search import decide, paired_p_value, settled


def _result(loss: LossId, scores: list[float]) -> CandidateResult:
    finite = [s for s in scores if math.isfinite(s)]
    return CandidateResult(
        loss=loss, params={}, mean=float(np.mean(finite)) if finite else math.nan,
        std=float(np.std(finite, ddof=1)) if len(finite) > 1 else 0.0, n=len(finite),
        scores=tuple(scores),
    )


@pytest.mark.parametrize(
    "better,worse",
    [([], []), ([0.9], [0.1]), ([0.9, math.nan], [0.1, 0.2]), ([0.9, 0.91], [0.1, 0.12])],
)
def test_fewer_than_three_pairs_give_p_one(better, worse) -> None:
    assert paired_p_value(better, worse) == 1.0


def test_constant_gap_is_certain_and_identical_scores_are_not() -> None:
    assert paired_p_value([0.9, 0.8, 0.7], [0.8, 0.7, 0.6]) == 0.0
    assert paired_p_value([0.9, 0.8, 0.7], [0.9, 0.8, 0.7]) == 1.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_scipy_paired_t_test(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.normal(0.8, 0.05, size=5)
    b = a - rng.normal(0.02, 0.03, size=5)
    assert paired_p_value(a, b) == pytest.approx(stats.ttest_rel(a, b).pvalue, rel=1e-12)


def test_non_finite_pairs_are_dropped_before_testing() -> None:
    a, b = [0.9, 0.85, math.nan, 0.88, 0.86], [0.7, 0.72, 0.5, math.inf, 0.69]
    expected = stats.ttest_rel([0.9, 0.85, 0.86], [0.7, 0.72, 0.69]).pvalue
    assert paired_p_value(a, b) == pytest.approx(expected, rel=1e-12)


def test_a_clearly_better_candidate_wins_with_a_stated_gap() -> None:
    results = [
        _result(LossId.MSE, [0.60, 0.62, 0.58, 0.61]),
        _result(LossId.HUBER, [0.40, 0.43, 0.39, 0.41]),  # lower rmse: better
    ]
    decision = decide(results, prior=[LossId.MSE, LossId.HUBER], metric=MetricId.RMSE,
                      maximize=False)
    assert decision.chosen is LossId.HUBER
    assert decision.confidence > 0.9
    assert decision.label in ("high", "medium")
    comparison = decision.comparison
    assert comparison.best is LossId.HUBER and comparison.other is LossId.MSE
    assert comparison.significant and comparison.p_value < 0.05
    assert comparison.difference == pytest.approx(0.195)
    assert comparison.statement.startswith("huber beats mse by 0.195")
    assert "rmse" in comparison.statement and "p=" in comparison.statement


def test_maximized_metric_ranks_higher_first() -> None:
    results = [
        _result(LossId.CE, [0.70, 0.72, 0.69]),
        _result(LossId.FOCAL, [0.80, 0.83, 0.81]),
    ]
    decision = decide(results, prior=[LossId.CE, LossId.FOCAL],
                      metric=MetricId.BALANCED_ACCURACY, maximize=True)
    assert decision.chosen is LossId.FOCAL
    assert decision.comparison.difference > 0
    assert "balanced_accuracy" in decision.comparison.statement


def test_a_tie_goes_to_the_rule_prior() -> None:
    results = [
        _result(LossId.MAE, [0.50, 0.61, 0.55]),
        _result(LossId.HUBER, [0.51, 0.58, 0.55]),  # best mean by a hair, not significant
    ]
    decision = decide(results, prior=[LossId.MAE, LossId.HUBER], metric=MetricId.MAE,
                      maximize=False)
    assert decision.chosen is LossId.MAE
    assert "rule prior" in decision.comparison.statement
    assert "no significant difference" in decision.comparison.statement
    assert not decision.comparison.significant
    assert decision.confidence == 0.5 and decision.label == "low"


def test_best_that_is_also_the_prior_is_not_claimed_significant() -> None:
    results = [
        _result(LossId.MAE, [0.52, 0.58, 0.56]),
        _result(LossId.HUBER, [0.50, 0.61, 0.57]),
    ]
    decision = decide(results, prior=[LossId.MAE, LossId.HUBER], metric=MetricId.MAE,
                      maximize=False)
    assert decision.chosen is LossId.MAE
    assert "not significantly better" in decision.comparison.statement
    assert 0.5 <= decision.confidence < 0.8
    tie = decide([_result(LossId.MAE, [0.5] * 3), _result(LossId.HUBER, [0.5] * 3)],
                 prior=[LossId.MAE, LossId.HUBER], metric=MetricId.MAE, maximize=False)
    assert tie.chosen is LossId.MAE and tie.confidence == 0.5  # identical scores: a coin flip


def test_all_nan_results_fall_back_to_the_prior() -> None:
    results = [_result(LossId.HUBER, [math.nan] * 3), _result(LossId.MSE, [math.nan] * 3)]
    decision = decide(results, prior=[LossId.MSE, LossId.HUBER], metric=MetricId.RMSE,
                      maximize=False)
    assert decision.chosen is LossId.MSE
    assert decision.comparison is None and decision.label == "low"


def test_a_single_scored_candidate_wins_without_a_comparison() -> None:
    results = [_result(LossId.HUBER, [0.4, 0.5]), _result(LossId.MSE, [math.nan, math.nan])]
    decision = decide(results, prior=[LossId.MSE, LossId.HUBER], metric=MetricId.RMSE,
                      maximize=False)
    assert decision.chosen is LossId.HUBER
    assert decision.comparison is None


# --------------------------------------------------------------------------- settled


def test_settled_needs_three_pairs() -> None:
    assert not settled([0.5, 0.5], [0.1, 0.1], maximize=True)


def test_a_clearly_worse_challenger_is_settled_either_direction() -> None:
    assert settled([0.9, 0.91, 0.92], [0.7, 0.72, 0.71], maximize=True)
    assert settled([1.0, 1.1, 1.05], [2.0, 2.1, 2.2], maximize=False)


def test_a_negligibly_better_challenger_is_settled_a_noisy_one_is_not() -> None:
    # better by 0.1% with tiny spread: below the 0.5% margin even at its upper bound
    chosen = np.array([1.00, 1.02, 0.98, 1.01])
    assert settled(chosen, chosen - 0.001 + np.array([0, 1e-4, -1e-4, 0]), maximize=False)
    # same mean gap, large spread: it could still be 0.5% better
    assert not settled(chosen, chosen - 0.001 + np.array([0.03, -0.03, 0.02, -0.02]),
                       maximize=False)


def test_a_significantly_better_challenger_is_never_settled() -> None:
    chosen = [0.70, 0.71, 0.69, 0.70]
    assert not settled(chosen, [0.75, 0.76, 0.74, 0.75], maximize=True)


def test_settled_bound_matches_a_scipy_one_sided_interval() -> None:
    rng = np.random.default_rng(3)
    chosen = rng.normal(10.0, 0.2, size=6)
    other = chosen + rng.normal(0.0, 0.01, size=6)
    gaps = chosen - other  # minimised: advantage of other = chosen - other
    low, high = stats.t.interval(0.90, len(gaps) - 1, loc=gaps.mean(), scale=stats.sem(gaps))
    assert settled(chosen, other, maximize=False) == (high < 0.005 * abs(chosen.mean()))
