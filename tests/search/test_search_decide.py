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


# ------------------------------------------------------------------ the prior as tie-breaker


def _lead_at(p: float, n: int = 10) -> tuple[list[float], list[float]]:
    """(prior, challenger) rmse scores whose paired two-sided p-value is exactly ``p``; the
    challenger has the lower (better) mean."""
    noise = np.array([0.03, -0.02, 0.01, -0.04, 0.02, 0.0, -0.01, 0.03, -0.03, 0.01][:n])
    noise = noise - noise.mean()
    lead = stats.t.ppf(1 - p / 2, n - 1) * noise.std(ddof=1) / math.sqrt(n)
    prior = np.linspace(0.50, 0.60, n)
    return list(prior), list(prior - lead + noise)


@pytest.mark.parametrize("p,overturned", [(0.09, True), (0.11, False), (0.06, True), (0.3, False)])
def test_a_lead_overturns_the_prior_below_the_tie_threshold(p: float, overturned: bool) -> None:
    from advisor.search._decide import TIE

    prior_scores, challenger = _lead_at(p)
    assert paired_p_value(challenger, prior_scores) == pytest.approx(p, rel=1e-6)
    assert (p < TIE) is overturned
    results = [_result(LossId.MSE, prior_scores), _result(LossId.HUBER, challenger)]
    decision = decide(results, prior=[LossId.MSE, LossId.HUBER], metric=MetricId.RMSE,
                      maximize=False)
    comparison = decision.comparison
    assert not comparison.significant  # acted on, never called significant above 0.05
    if overturned:
        assert decision.chosen is LossId.HUBER
        assert comparison.statement.startswith("huber leads the rule prior mse by")
        assert "likely better, not significant at 5%" in comparison.statement
        assert decision.confidence == pytest.approx(0.5 + 0.3 * (1 - p), abs=1e-3)
        assert decision.label == "low"
    else:
        assert decision.chosen is LossId.MSE
        assert "the rule prior ranks mse above huber, so mse stands" in comparison.statement
        assert decision.confidence == 0.5


def test_an_overturned_prior_is_named_beside_a_closer_runner_up() -> None:
    prior_scores, challenger = _lead_at(0.07)
    wobble = [0.02, -0.01, 0.0, 0.01, -0.02, 0.015, -0.005, 0.0, 0.01, -0.02]
    close = [s + w + 1e-3 for s, w in zip(challenger, wobble, strict=True)]  # tied with it
    results = [
        _result(LossId.MSE, prior_scores),
        _result(LossId.HUBER, challenger),
        _result(LossId.MAE, close),
    ]
    decision = decide(results, prior=[LossId.MSE, LossId.HUBER, LossId.MAE],
                      metric=MetricId.RMSE, maximize=False)
    assert decision.chosen is LossId.HUBER  # the prior prefers it to MAE, its tie
    assert "rule prior mse" in decision.comparison.statement
    assert "closest: mae" in decision.comparison.statement
    assert decision.comparison.other is LossId.MAE
    assert decision.comparison.p_value >= 0.1  # the weakest comparison sets the confidence
    assert decision.confidence == pytest.approx(0.5 + 0.3 * (1 - decision.comparison.p_value),
                                                abs=1e-3)


def test_a_loss_that_left_the_race_is_reported_but_never_chosen() -> None:
    # MAE left after 3 easy splits with a mean the others' 10 harder splits cannot match
    results = [
        _result(LossId.MSE, [0.60, 0.62, 0.58, 0.61, 0.63, 0.60, 0.59, 0.62, 0.61, 0.60]),
        _result(LossId.HUBER, [0.61, 0.62, 0.60, 0.62, 0.64, 0.61, 0.60, 0.62, 0.62, 0.61]),
        _result(LossId.MAE, [0.55, 0.56, 0.54]),
    ]
    kwargs = dict(prior=[LossId.MAE, LossId.MSE, LossId.HUBER], metric=MetricId.RMSE,
                  maximize=False)
    assert decide(results, **kwargs).chosen is LossId.MAE  # all of them ranked: misleading
    decision = decide(results, contenders=[LossId.MSE, LossId.HUBER], **kwargs)
    assert decision.chosen is LossId.MSE
    assert {decision.comparison.best, decision.comparison.other} == {LossId.MSE, LossId.HUBER}


def test_a_lead_too_small_to_matter_is_a_tie_even_when_significant() -> None:
    # CE beats CORAL on every split, by about 0.1% of the score: significant, and negligible
    coral = [0.585, 0.572, 0.568, 0.575, 0.580]
    ce = [s - 0.0006 - 0.0001 * (i % 2) for i, s in enumerate(coral)]
    results = [_result(LossId.ORDINAL_CORAL, coral), _result(LossId.CE, ce)]
    assert paired_p_value(ce, coral) < 0.05
    assert settled(coral, ce, maximize=False)
    decision = decide(results, prior=[LossId.ORDINAL_CORAL, LossId.CE],
                      metric=MetricId.MAE_INDEX, maximize=False)
    assert decision.chosen is LossId.ORDINAL_CORAL
    statement = decision.comparison.statement
    assert statement.startswith("ce (best mean) leads ordinal_coral by only")
    assert "less than the 0.5% that would change the advice" in statement
    assert decision.confidence == 0.8 and decision.label == "medium"
    # the same lead ten times larger matters: it is acted on
    far = [s - 0.006 - 0.001 * (i % 2) for i, s in enumerate(coral)]
    bigger = decide([results[0], _result(LossId.CE, far)],
                    prior=[LossId.ORDINAL_CORAL, LossId.CE], metric=MetricId.MAE_INDEX,
                    maximize=False)
    assert bigger.chosen is LossId.CE


def test_a_prior_that_trails_significantly_is_not_called_merely_likely() -> None:
    prior_scores, challenger = _lead_at(0.01)
    wobble = [0.02, -0.01, 0.0, 0.01, -0.02, 0.015, -0.005, 0.0, 0.01, -0.02]
    close = [s + w + 1e-3 for s, w in zip(challenger, wobble, strict=True)]
    results = [
        _result(LossId.MSE, prior_scores),
        _result(LossId.HUBER, challenger),
        _result(LossId.MAE, close),
    ]
    decision = decide(results, prior=[LossId.MSE, LossId.HUBER, LossId.MAE],
                      metric=MetricId.RMSE, maximize=False)
    statement = decision.comparison.statement
    assert decision.chosen is LossId.HUBER
    assert "(p=0.01): significantly better; the measured lead" in statement
    assert "closest: mae" in statement and "likely" not in statement


def test_a_lead_found_after_more_looks_is_called_significant_less_easily() -> None:
    """Past 10 splits the race looks again every round; the reported p-value is multiplied by
    the looks (Bonferroni) while which losses tie, and so the pick, stays as measured."""
    rng = np.random.default_rng(6)  # a lead at p = 0.032 over 15 splits
    base = rng.normal(1.0, 0.3, size=15)
    huber = base - 0.05 + rng.normal(0.0, 0.06, size=15)
    results = [_result(LossId.MSE, list(base)), _result(LossId.HUBER, list(huber))]
    kwargs = dict(prior=[LossId.MSE, LossId.HUBER], metric=MetricId.RMSE, maximize=False)
    once = decide(results, **kwargs)
    nominal = once.comparison.p_value
    assert 0.01 < nominal < 0.05 and once.verdict.value == "significant"
    again = decide(results, looks=3, **kwargs)
    assert again.chosen is once.chosen is LossId.HUBER
    assert again.comparison.p_value == pytest.approx(min(1.0, 3 * nominal))
    assert again.verdict.value != "significant" and again.confidence < once.confidence
    assert "adjusted for 3 looks" in again.comparison.statement
    assert again.verdict.value == "overturned"  # huber leads the prior's mse
    assert "ahead at a nominal p below 0.1, not significant once adjusted" in (
        again.comparison.statement
    )
    assert "adjusted" not in once.comparison.statement
