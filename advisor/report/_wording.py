"""Sentences that more than one renderer prints, written once.

The search decides in numbers and a typed verdict (``advisor.records.Decision``); the words
for it are here, with the rest of the wording, so that the statistics can change without
touching a sentence and a sentence without touching the statistics.
"""

from __future__ import annotations

from advisor.records import Decision, DivergedRun, SearchResult, Verdict

__all__ = ["decision_statement", "diverged_note", "race_note"]


def race_note(search: SearchResult) -> str | None:
    """Why some losses have fewer confirmation splits than others (None when none has).

    Example:
        >>> from advisor.records import CandidateResult, LossId, MetricId
        >>> def result(loss, n):
        ...     return CandidateResult(loss=loss, params={}, mean=1.0, std=0.0, n=n,
        ...                            scores=(1.0,) * n)
        >>> search = SearchResult(metric=MetricId.RMSE, direction="minimize", budget_s=1.0,
        ...     elapsed_s=1.0, trials=2, storage="in-memory", study_name="s",
        ...     results=(result(LossId.MSE, 6), result(LossId.MAE, 3)))
        >>> race_note(search)[:40]
        'a loss with fewer splits left the race o'
    """
    splits = [len(r.scores) for r in search.results]
    if not splits or min(splits) == max(splits):
        return None
    return (
        "a loss with fewer splits left the race once it was settled against the leader "
        "(it could no longer change the advice)"
    )


def decision_statement(decision: Decision) -> str:
    """The confirmation's verdict in one sentence: who leads whom, by how much, how sure.

    Empty when the decision has no comparison (one loss or none could be scored).

    Example:
        >>> from advisor.records import Comparison, LossId, MetricId
        >>> comparison = Comparison(best=LossId.HUBER, other=LossId.MSE, difference=0.195,
        ...     difference_std=0.01, p_value=0.0004, significant=True, statement="")
        >>> decision_statement(Decision(chosen=LossId.HUBER, verdict=Verdict.SIGNIFICANT,
        ...     confidence=0.9998, label="high", metric=MetricId.RMSE, splits=4,
        ...     equivalence=0.005, comparison=comparison))
        'huber beats mse by 0.195 ± 0.01 rmse (paired t-test over 4 splits, p=0.0004)'
    """
    c = decision.comparison
    if c is None:
        return ""
    name, best, other = decision.metric.value, c.best.value, c.other.value
    gap = f"{c.difference:.4g} ± {c.difference_std:.2g} {name}"
    if decision.verdict is Verdict.SIGNIFICANT:
        text = f"{best} beats {other} by {gap} (paired t-test over {decision.splits} splits, "
        text += f"p={c.p_value:.3g})"
    elif decision.verdict is Verdict.OVERTURNED and decision.prior is not None:
        text = _overturned(decision)
    elif decision.verdict is Verdict.NEGLIGIBLE:
        text = (
            f"{best} (best mean) leads {other} by only {gap} (p={c.p_value:.2g}): less than "
            f"the {decision.equivalence:.1%} that would change the advice; the rule prior "
            f"({other}) stands"
        )
    elif decision.verdict is Verdict.TIE:
        text = (
            f"no significant difference between {best} (best mean) and {other} ({gap}, "
            f"p={c.p_value:.2g}); the rule prior ({other}) stands"
        )
    else:
        text = (
            f"{best} scores best but not significantly better than {other} ({gap}, "
            f"p={c.p_value:.2g}); it is also the rule prior's choice among them"
        )
    note = diverged_note(decision)
    return f"{text}; {note}" if note else text


def _overturned(decision: Decision) -> str:
    c, first = decision.comparison, decision.prior
    assert c is not None and first is not None
    strength = (
        "significantly better" if first.significant else "likely better, not significant at 5%"
    )
    text = (
        f"{first.best.value} leads the rule prior {first.other.value} by "
        f"{first.difference:.4g} ± {first.difference_std:.2g} {decision.metric.value} over "
        f"{decision.splits} paired splits (p={first.p_value:.2g}): {strength}; the measured "
        f"lead outweighs the prior"
    )
    if first.other is not c.other:
        text += f" (closest: {c.other.value}, p={c.p_value:.2g})"
    return text


def _run(run: DivergedRun, metric: str) -> str:
    if run.score is None or run.expected is None:
        return f"{run.loss.value} on split {run.split} (no score: training diverged)"
    return (
        f"{run.loss.value} on split {run.split} ({run.score:.4g} {metric} where its other "
        f"splits and the other losses there predict about {run.expected:.3g})"
    )


def diverged_note(decision: Decision) -> str | None:
    """Which runs blew up and were kept from deciding, and what that means for their losses.

    Example:
        >>> from advisor.records import LossId, MetricId
        >>> run = DivergedRun(loss=LossId.GAMMA, split=3, score=188.8, expected=59.0)
        >>> diverged_note(Decision(chosen=LossId.HUBER, verdict=Verdict.TIE, confidence=0.5,
        ...     label="low", metric=MetricId.RMSE, splits=10, equivalence=0.005,
        ...     diverged=(run,)))  # doctest: +NORMALIZE_WHITESPACE
        'runs that blew up were left out of the paired tests: gamma on split 3 (188.8 rmse
        where its other splits and the other losses there predict about 59); a loss that
        blows up on some splits is a risky choice, so it wins on measured scores only, never
        on the rule prior'
    """
    if not decision.diverged:
        return None
    runs = ", ".join(_run(run, decision.metric.value) for run in decision.diverged)
    text = f"runs that blew up were left out of the paired tests: {runs}"
    own = [run for run in decision.diverged if run.loss is decision.chosen]
    if own:
        return (
            f"{text}; {decision.chosen.value} itself blew up on {len(own)} split(s): a risky "
            f"choice (check its training, e.g. a lower learning rate), so the confidence is "
            f"capped"
        )
    return (
        f"{text}; a loss that blows up on some splits is a risky choice, so it wins on "
        f"measured scores only, never on the rule prior"
    )
