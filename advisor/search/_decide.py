"""Turn repeated, paired validation scores into a decision and an honest confidence.

The finalists were scored on the same R splits with the same seeds, so their differences are
paired: a paired t-test across splits measures both split and initialisation noise.

The rule prior (the shortlist's order, which already prefers the simpler, better-understood
loss) breaks ties; it is not a null hypothesis that only a 5% test may overturn. A loss is
tied with the best mean when the splits cannot tell them apart (two-sided p >= 0.1), or when
they show the best's lead is too small to matter (below EQUIVALENCE at its one-sided 95%
bound); ties go to the prior. A lead at p < 0.1 (one-sided p < 0.05 that the leader is
better on this data) and larger than that is acted on; it is called significant only at
two-sided p < 0.05, and the confidence says which. Keeping a loss the splits measure as worse,
because a stricter test could not yet prove it, would trade measured regret for a prior.

A run that blew up (its error more than twice what its loss's other splits and the split's
other runs predict) is not noise for a t-test to average: one such split inflates its loss's
spread until the loss "ties" with everything, and the prior then picks it (gamma deviance on
a skewed target, 145% behind MSE on test, on the corpus table ``cpus_perf``; see
``benchmarks/README.md``). Such runs, and runs that trained to no score, are left out of the
paired tests, and their loss loses its place in the prior; it is recommended only where every
loss left blew up too (then on measured evidence, never a tie). The decision lists them, and
the wording says so.

``decide`` returns numbers and a typed :class:`~advisor.records.Verdict`; the sentence is
``advisor.report._wording``'s.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Collection, Sequence

import numpy as np
from scipy import stats

from advisor.records import (
    CandidateResult,
    Comparison,
    Decision,
    DivergedRun,
    LossId,
    MetricId,
    Verdict,
)

__all__ = ["Decision", "decide", "diverged_runs", "paired_p_value", "settled"]

SIGNIFICANCE = 0.05
# two-sided paired p-value below which a lead is acted on (one-sided 5%: "is the leader
# better?"); above it the splits leave the losses tied and the rule prior breaks the tie
TIE = 0.1
MIN_PAIRS = 3
# A gap below this share of the chosen loss's score does not change the advice: no one picks
# a loss for a 0.5% better validation score, which split noise alone often exceeds.
EQUIVALENCE = 0.005
# A run blew up when its error is more than BLOWUP times what its loss and its split predict
# (and larger than that by more than the typical error: a near-perfect split is no blow-up).
BLOWUP = 2.0
# ... and when its excess is an outlier among every run's excess (robust z above this): on a
# near-perfect classification, one more wrong row can double an error. Of the corpus runs
# past the other tests, the blow-ups stand at z 7.6 and above, the one ordinary run at 3.5.
OUTLIER_Z = 5.0
# the most a decision for a loss that blew up on some split can claim
UNSTABLE_CONFIDENCE = 0.75


def _finite_pairs(a: Sequence[float], b: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """The splits where both losses were scored (a failed run scores NaN; a loss that left
    the race early has scores for the first splits only)."""
    shared = min(len(a), len(b))
    x, y = np.asarray(a[:shared], dtype=float), np.asarray(b[:shared], dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    return x[keep], y[keep]


def paired_p_value(better: Sequence[float], worse: Sequence[float]) -> float:
    """Two-sided paired t-test p-value; 1.0 below MIN_PAIRS pairs, 0/1 for constant gaps.

    Two pairs give a t-test with one degree of freedom, which can look decisive by chance;
    below three pairs nothing is called significant.

    Example:
        >>> round(paired_p_value([0.9, 0.8, 0.85], [0.7, 0.65, 0.7]), 4)
        0.0099
    """
    a, b = _finite_pairs(better, worse)
    if a.size < MIN_PAIRS:
        return 1.0
    gaps = a - b
    if np.allclose(gaps, gaps[0]):
        return 0.0 if abs(gaps[0]) > 1e-12 else 1.0
    return float(stats.ttest_rel(a, b).pvalue)


def settled(
    chosen: Sequence[float],
    other: Sequence[float],
    *,
    maximize: bool,
    margin: float = EQUIVALENCE,
) -> bool:
    """True when more paired splits could not make ``other`` worth choosing over ``chosen``.

    That is when the one-sided 95% upper bound of ``other``'s advantage lies below
    ``margin`` x |chosen's mean|: with the default margin, ``other`` is then significantly
    worse, or at best negligibly better. A loss that would win a tie (the rule prior ranks it
    higher) is settled only once it is worse by a margin that matters: ``margin=-EQUIVALENCE``.
    A stopping rule for futility only: it never ends a search because a challenger looks
    better, so it cannot inflate the chance of a false "significant".

    Example:
        >>> settled([0.50, 0.51, 0.52], [0.40, 0.41, 0.40], maximize=True)
        True
        >>> settled([0.50, 0.51, 0.52], [0.52, 0.49, 0.55], maximize=True)
        False
        >>> settled([0.50, 0.51, 0.52], [0.499, 0.508, 0.519], maximize=True, margin=-0.005)
        False
    """
    a, b = _finite_pairs(chosen, other)
    if a.size < MIN_PAIRS:
        return False
    sign = 1.0 if maximize else -1.0
    advantage = sign * (b - a)
    spread = advantage.std(ddof=1) / math.sqrt(advantage.size)
    upper = advantage.mean() + stats.t.ppf(0.95, advantage.size - 1) * spread
    return bool(upper < margin * abs(a.mean()))


# --------------------------------------------------------------------------- divergence


def _errors(results: Sequence[CandidateResult], *, maximize: bool) -> np.ndarray | None:
    """Losses x splits matrix of errors (lower is better, positive), NaN where not scored;
    None when the metric has no such reading (a maximised score above 1, a negative one)."""
    width = max((len(r.scores) for r in results), default=0)
    scores = np.full((len(results), width), np.nan)
    for row, result in enumerate(results):
        scores[row, : len(result.scores)] = result.scores
    finite = scores[np.isfinite(scores)]
    if finite.size == 0:
        return None
    if maximize:
        if finite.max() > 1.0:
            return None
        return 1.0 - scores
    return None if finite.min() < 0.0 else scores


def diverged_runs(results: Sequence[CandidateResult], *, maximize: bool) -> tuple[DivergedRun, ...]:
    """Runs kept from deciding: those that trained to no score, and those that blew up.

    On the log of the errors (a maximised score's error is 1 - score), a split's level is the
    lower quartile of its runs (blow-ups only ever raise a run, so a low quantile stays put
    when several runs of a split blow up together) and a loss's usual gap to that level is the
    median over its other splits. A run blew up when its error exceeds BLOWUP times what the
    two predict and BLOWUP times its loss's median error on the other splits (a loss that
    never learns does not blow up), exceeds the prediction by more than the median error of
    all runs (a near-perfect split makes no blow-up of an ordinary one), and its excess over
    the prediction is an outlier among all runs' (robust z above OUTLIER_Z). It needs three
    splits of its loss and two runs on its split; a metric whose scores have no error
    reading (a maximised score above 1) is only checked for missing scores.

    Example:
        >>> from advisor.records import CandidateResult, LossId
        >>> def result(loss, scores):
        ...     return CandidateResult(loss=loss, params={}, mean=0.0, std=0.0, n=4,
        ...                            scores=tuple(scores))
        >>> runs = diverged_runs([result(LossId.MSE, [24, 70, 56, 62]),
        ...     result(LossId.GAMMA, [26, 59, 189, 71]), result(LossId.MAE, [25, 64, 53, 59])],
        ...     maximize=False)
        >>> [(r.loss.value, r.split, r.score, round(r.expected)) for r in runs]
        [('gamma', 3, 189.0, 57)]
    """
    found = [
        DivergedRun(loss=r.loss, split=s + 1, score=None, expected=None)
        for r in results
        for s, score in enumerate(r.scores)
        if not math.isfinite(score)
    ]
    errors = _errors(results, maximize=maximize)
    if errors is not None:
        found += _blown(results, errors, maximize=maximize)
    return tuple(sorted(found, key=lambda run: (run.split, run.loss.value)))


def _excess(logs: np.ndarray) -> np.ndarray:
    """How far each run's log error lies above what its loss and its split predict (NaN
    where either has too few other runs to say)."""
    counts = np.isfinite(logs).sum(axis=0)
    level = np.full(logs.shape[1], np.nan)
    for s in np.flatnonzero(counts >= 2):
        level[s] = np.quantile(logs[np.isfinite(logs[:, s]), s], 0.25, method="lower")
    gaps = logs - level
    excess = np.full(gaps.shape, np.nan)
    for row, col in zip(*np.nonzero(np.isfinite(gaps)), strict=True):
        others = np.delete(gaps[row], col)
        others = others[np.isfinite(others)]
        if others.size >= 2:
            excess[row, col] = gaps[row, col] - float(np.median(others))
    return excess


def _blown(
    results: Sequence[CandidateResult], errors: np.ndarray, *, maximize: bool
) -> list[DivergedRun]:
    typical = float(np.nanmedian(errors))
    if not typical > 0:
        return []
    logs = np.log(np.maximum(errors, typical * 1e-6))
    excess = _excess(logs)
    finite = excess[np.isfinite(excess)]
    if finite.size == 0:
        return []
    scale = 1.4826 * float(np.median(np.abs(finite)))  # robust spread of every run's excess
    found = []
    for row, col in zip(*np.nonzero(np.isfinite(excess)), strict=True):
        expected = math.exp(logs[row, col] - excess[row, col])
        own = np.delete(errors[row], col)
        usual = float(np.median(own[np.isfinite(own)]))  # the loss's own other splits
        error = float(errors[row, col])
        if (
            error > BLOWUP * max(expected, usual)
            and error - expected > typical
            and excess[row, col] > OUTLIER_Z * scale
        ):
            found.append(
                DivergedRun(
                    loss=results[row].loss,
                    split=int(col) + 1,
                    score=float(results[row].scores[col]),
                    expected=1.0 - expected if maximize else expected,
                )
            )
    return found


def _without(result: CandidateResult, splits: Collection[int]) -> CandidateResult:
    """``result`` with the runs of ``splits`` (from 1) as unscored, its mean and n redone."""
    if not splits:
        return result
    scores = tuple(math.nan if s + 1 in splits else v for s, v in enumerate(result.scores))
    finite = [v for v in scores if math.isfinite(v)]
    return dataclasses.replace(
        result,
        scores=scores,
        mean=float(np.mean(finite)) if finite else math.nan,
        std=float(np.std(finite, ddof=1)) if len(finite) > 1 else 0.0,
        n=len(finite),
    )


# --------------------------------------------------------------------------- decision


def _label(confidence: float) -> str:
    return "high" if confidence >= 0.95 else "medium" if confidence >= 0.8 else "low"


def _compare(best: CandidateResult, other: CandidateResult, sign: float) -> Comparison:
    """The paired numbers of ``best`` against ``other`` (the sentence comes later)."""
    a, b = _finite_pairs([sign * s for s in best.scores], [sign * s for s in other.scores])
    gaps = a - b
    p = paired_p_value(a, b)
    return Comparison(
        best=best.loss,
        other=other.loss,
        difference=float(gaps.mean()) if gaps.size else math.nan,
        difference_std=float(gaps.std(ddof=1)) if gaps.size > 1 else 0.0,
        p_value=p,
        significant=p < SIGNIFICANCE,
        statement="",
    )


def _ranked(
    results: Sequence[CandidateResult],
    diverged: Sequence[DivergedRun],
    contenders: Collection[LossId] | None,
    sign: float,
) -> list[CandidateResult]:
    """The contenders with a score, runs that diverged left out, best mean first."""
    clean = [
        _without(r, {run.split for run in diverged if run.loss is r.loss})
        for r in results
        if contenders is None or r.loss in contenders
    ]
    return sorted((r for r in clean if math.isfinite(r.mean)), key=lambda r: -sign * r.mean)


def _adjusted(comparison: Comparison, looks: int) -> Comparison:
    """``comparison`` with its p-value multiplied by the race's looks (Bonferroni)."""
    if looks <= 1:
        return comparison
    p = min(1.0, comparison.p_value * looks)
    return dataclasses.replace(comparison, p_value=p, significant=p < SIGNIFICANCE)


def _verdict(
    ranked: Sequence[CandidateResult],
    versus: dict[LossId, Comparison],
    order: dict[LossId, int],
    negligible: set[LossId],
    looks: int = 1,
) -> tuple[LossId, Verdict, Comparison, Comparison | None]:
    """The chosen loss, how it was chosen, the comparison that sets the confidence, and the
    best against the first loss of the prior it overturned (if any).

    Which losses tie is judged on the nominal p-values (the threshold the corpus was measured
    with); whether a lead is called significant, and the p-values reported, are adjusted for
    the race's ``looks``."""
    best = ranked[0]
    tied = [best.loss] + [
        loss for loss, c in versus.items() if c.p_value >= TIE or loss in negligible
    ]
    chosen = min(tied, key=lambda loss: order[loss])
    if chosen is not best.loss:
        verdict = Verdict.NEGLIGIBLE if chosen in negligible else Verdict.TIE
        return chosen, verdict, _adjusted(versus[chosen], looks), None
    # the best is compared with the loss it is least clearly better than: the runner-up by
    # mean as a rule, but a noisier one further down can be closer in evidence
    closest = _adjusted(max(versus.values(), key=lambda c: c.p_value), looks)
    if closest.significant:
        return chosen, Verdict.SIGNIFICANT, closest, None
    overturned = [r.loss for r in ranked[1:] if order[r.loss] < order[best.loss]]
    if overturned:
        first = _adjusted(versus[min(overturned, key=order.get)], looks)
        return chosen, Verdict.OVERTURNED, closest, first
    return chosen, Verdict.BEST_IS_PRIOR, closest, None


def _choose(
    ranked: Sequence[CandidateResult],
    order: dict[LossId, int],
    sign: float,
    maximize: bool,
    looks: int,
) -> tuple[LossId, Verdict, Comparison, Comparison | None]:
    """The choice among ``ranked`` (two or more, best mean first): each compared with the
    best; tied with it where the splits cannot tell them apart, or where they show that the
    best's lead is too small to matter (``settled`` the other way round)."""
    best = ranked[0]
    versus = {r.loss: _compare(best, r, sign) for r in ranked[1:]}
    negligible = {r.loss for r in ranked[1:] if settled(r.scores, best.scores, maximize=maximize)}
    return _verdict(ranked, versus, order, negligible, looks)


def _confidence(verdict: Verdict, comparison: Comparison | None) -> float:
    if verdict is Verdict.SIGNIFICANT and comparison is not None:
        return 1.0 - comparison.p_value / 2
    if verdict in (Verdict.OVERTURNED, Verdict.BEST_IS_PRIOR) and comparison is not None:
        return 0.5 + 0.3 * (1.0 - comparison.p_value)  # leads, not significantly: 0.5 to 0.8
    if verdict is Verdict.NEGLIGIBLE:
        return 0.8  # shown to cost at most EQUIVALENCE (one-sided 95%): a choice among equals
    return 0.5


def decide(
    results: Sequence[CandidateResult],
    *,
    prior: Sequence[LossId],
    metric: MetricId,
    maximize: bool,
    contenders: Collection[LossId] | None = None,
    looks: int = 1,
) -> Decision:
    """Pick the recommendation from confirmed results.

    Args:
        results: one per finalist, scores paired by split.
        prior: the shortlist order (rule prior), best first.
        metric: the validation metric, for the statement.
        maximize: the metric's direction.
        contenders: the losses still in the race (default: all). A loss that left it early,
            settled against the leader, is reported but neither ranked nor chosen: its mean
            covers fewer splits, so it is not comparable with the others'.
        looks: how many times the race tested for a decision (``_race.looks``); the reported
            p-values and the "significant" verdict are adjusted for them.

    Example:
        >>> from advisor.records import CandidateResult, LossId, MetricId
        >>> def result(loss, scores):
        ...     return CandidateResult(loss=loss, params={}, mean=sum(scores) / len(scores),
        ...                            std=0.0, n=len(scores), scores=tuple(scores))
        >>> decision = decide([result(LossId.MSE, [0.60, 0.62, 0.58, 0.61]),
        ...     result(LossId.HUBER, [0.40, 0.43, 0.39, 0.41])],
        ...     prior=[LossId.MSE, LossId.HUBER], metric=MetricId.RMSE, maximize=False)
        >>> decision.chosen.value, decision.verdict.value, decision.label
        ('huber', 'significant', 'high')
    """
    sign = 1.0 if maximize else -1.0
    diverged = diverged_runs(results, maximize=maximize)
    unstable = {run.loss for run in diverged}
    # a loss that diverged keeps its measured scores, not its place in the prior
    order = {loss: i + (len(prior) if loss in unstable else 0) for i, loss in enumerate(prior)}
    ranked = _ranked(results, diverged, contenders, sign)
    for r in ranked:
        order.setdefault(r.loss, 2 * len(prior) + (r.loss in unstable))
    fields = dict(metric=metric, equivalence=EQUIVALENCE, diverged=diverged)
    if len(ranked) < 2:
        sole = ranked[0] if ranked else None
        return Decision(
            chosen=sole.loss if sole else prior[0],
            verdict=Verdict.SOLE if sole else Verdict.UNSCORED,
            confidence=0.5,
            label="low",
            splits=sole.n if sole else 0,
            **fields,
        )
    best = ranked[0]
    chosen, verdict, comparison, overturned = _choose(ranked, order, sign, maximize, looks)
    steady = [r for r in ranked if r.loss not in unstable]
    if chosen in unstable and steady:
        # a loss that blew up is recommended only where every loss left blew up too: on the
        # corpus, Poisson led MSE at p = 0.03 on the 14 splits it did not blow up on
        # (``charity_gift``) and blew up on a test run as well, 93,397% behind the best
        if len(steady) > 1:
            chosen, verdict, comparison, overturned = _choose(steady, order, sign, maximize, looks)
        else:
            chosen, verdict, overturned = steady[0].loss, Verdict.STEADY, None
            comparison = _adjusted(_compare(best, steady[0], sign), looks)
    confidence = _confidence(verdict, comparison)
    if chosen in unstable:
        confidence = min(confidence, UNSTABLE_CONFIDENCE)
    return _phrased(
        Decision(
            chosen=chosen,
            verdict=verdict,
            confidence=round(confidence, 3),
            label=_label(confidence),
            splits=best.n,
            comparison=comparison,
            prior=overturned,
            looks=looks,
            **fields,
        )
    )


def _phrased(decision: Decision) -> Decision:
    """``decision`` with its comparison's sentence, written by ``report``."""
    from advisor.report._wording import decision_statement

    if decision.comparison is None:
        return decision
    statement = decision_statement(decision)
    return dataclasses.replace(
        decision, comparison=dataclasses.replace(decision.comparison, statement=statement)
    )
