"""The words for a decision: one sentence per verdict, from the decision's numbers alone."""

from __future__ import annotations

import pytest

from advisor.records import Comparison, Decision, DivergedRun, LossId, MetricId, Verdict
from advisor.report._wording import decision_statement, diverged_note


def _comparison(best: LossId, other: LossId, p: float, gap: float = 0.25) -> Comparison:
    return Comparison(
        best=best,
        other=other,
        difference=gap,
        difference_std=0.05,
        p_value=p,
        significant=p < 0.05,
        statement="",
    )


def _decision(verdict: Verdict, comparison: Comparison | None, **kwargs) -> Decision:
    fields = dict(
        chosen=comparison.best if comparison else LossId.MSE,
        verdict=verdict,
        confidence=0.5,
        label="low",
        metric=MetricId.RMSE,
        splits=6,
        equivalence=0.005,
        comparison=comparison,
    )
    return Decision(**{**fields, **kwargs})


# verdict -> (decision's comparison and extra fields, the sentence)
CASES = {
    Verdict.SIGNIFICANT: (
        _comparison(LossId.HUBER, LossId.MSE, 0.0123),
        {},
        "huber beats mse by 0.25 ± 0.05 rmse (paired t-test over 6 splits, p=0.0123)",
    ),
    Verdict.OVERTURNED: (
        _comparison(LossId.HUBER, LossId.MAE, 0.3),
        {"prior": _comparison(LossId.HUBER, LossId.MSE, 0.07, gap=0.5)},
        "huber leads the rule prior mse by 0.5 ± 0.05 rmse over 6 paired splits (p=0.07): "
        "likely better, not significant at 5%; the measured lead outweighs the prior "
        "(closest: mae, p=0.3)",
    ),
    Verdict.BEST_IS_PRIOR: (
        _comparison(LossId.MAE, LossId.HUBER, 0.2),
        {},
        "mae scores best but not significantly better than huber (0.25 ± 0.05 rmse, p=0.2); "
        "it is also the rule prior's choice among them",
    ),
    Verdict.NEGLIGIBLE: (
        _comparison(LossId.CE, LossId.ORDINAL_CORAL, 0.01, gap=0.0006),
        {"chosen": LossId.ORDINAL_CORAL},
        "ce (best mean) leads ordinal_coral by only 0.0006 ± 0.05 rmse (p=0.01): less than "
        "the 0.5% that would change the advice; the rule prior ranks ordinal_coral above ce, so "
        "ordinal_coral stands",
    ),
    Verdict.TIE: (
        _comparison(LossId.HUBER, LossId.MAE, 0.4),
        {"chosen": LossId.MAE},
        "no significant difference between huber (best mean) and mae (0.25 ± 0.05 rmse, "
        "p=0.4); the rule prior ranks mae above huber, so mae stands",
    ),
}


@pytest.mark.parametrize("verdict", list(CASES))
def test_each_verdict_has_its_sentence(verdict: Verdict) -> None:
    comparison, extra, sentence = CASES[verdict]
    assert decision_statement(_decision(verdict, comparison, **extra)) == sentence


def test_an_overturned_prior_that_is_the_closest_is_named_once() -> None:
    prior = _comparison(LossId.HUBER, LossId.MSE, 0.01)
    text = decision_statement(_decision(Verdict.OVERTURNED, prior, prior=prior))
    assert "significantly better; the measured lead outweighs the prior" in text
    assert "closest" not in text and "likely" not in text


@pytest.mark.parametrize("verdict", [Verdict.SOLE, Verdict.UNSCORED])
def test_no_comparison_no_sentence(verdict: Verdict) -> None:
    assert decision_statement(_decision(verdict, None)) == ""


BLOWN = DivergedRun(loss=LossId.GAMMA, split=3, score=188.78, expected=57.2)
FAILED = DivergedRun(loss=LossId.MSLE, split=5, score=None, expected=None)


def test_no_divergence_no_note() -> None:
    assert diverged_note(_decision(Verdict.TIE, None)) is None


def test_runs_kept_from_deciding_are_named_with_their_scores() -> None:
    comparison = _comparison(LossId.HUBER, LossId.MSE, 0.01)
    decision = _decision(Verdict.SIGNIFICANT, comparison, diverged=(BLOWN, FAILED))
    note = diverged_note(decision)
    assert note.startswith("runs that blew up were left out of the paired tests: ")
    assert "gamma on split 3 (188.8 rmse where its other splits and the other losses" in note
    assert "predict about 57.2)" in note
    assert "msle on split 5 (no score: training diverged)" in note
    assert note.endswith("a risky choice, recommended only where every loss left blew up too")
    assert decision_statement(decision).endswith(note)


def test_a_chosen_loss_that_blew_up_is_called_risky() -> None:
    comparison = _comparison(LossId.GAMMA, LossId.MSE, 0.001)
    note = diverged_note(_decision(Verdict.SIGNIFICANT, comparison, diverged=(BLOWN,)))
    assert "gamma itself blew up on 1 split(s): a risky choice" in note
    assert "the confidence is capped" in note


# what a parameter's value reads as -> (loss, parameter, value, spec)
PARAM_TEXTS = {
    "from data": [
        ("bce_weighted", "pos_weight", None, ".4g"),
        ("huber", "delta", None, None),
    ],
    "none": [("focal", "alpha", None, ".4g"), ("multilabel_focal", "alpha", None, None)],
    "0.1259": [("focal", "alpha", 0.12590893, ".4g"), ("focal", "alpha", 0.1259, None)],
    "118.6": [("huber", "delta", 118.6123, ".4g"), ("huber", "delta", 118.6, None)],
    "8.8361": [("bce_weighted", "pos_weight", 8.8361, None)],
    "2": [("focal", "gamma", 2.0, None), ("focal", "gamma", 2.0, ".4g")],
    "3": [("multi_margin", "p", 3, None)],
}


@pytest.mark.parametrize(
    ("expected", "case"),
    [(expected, case) for expected, cases in PARAM_TEXTS.items() for case in cases],
)
def test_a_parameter_reads_as_the_loss_builds_it(expected: str, case: tuple) -> None:
    from advisor.report._wording import param_text

    loss, name, value, spec = case
    assert param_text(loss, name, value, spec) == expected


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        (0.6274, 0.6274, True),
        (0.62741, 0.6274, True),  # what the shortlist's 4 digits cannot tell apart
        (0.6274, 0.6275, False),
        (0.6274, 0.1259, False),
        (None, None, True),
        (None, 0.5, False),
        (2, 2.0, True),
    ],
)
def test_same_value_reads_four_significant_digits(a, b, same: bool) -> None:
    from advisor.report._wording import same_value

    assert same_value(a, b) is same
