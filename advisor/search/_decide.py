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
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence

import numpy as np
from scipy import stats

from advisor.records import CandidateResult, Comparison, LossId, MetricId

__all__ = ["Decision", "decide", "paired_p_value", "settled"]

SIGNIFICANCE = 0.05
# two-sided paired p-value below which a lead is acted on (one-sided 5%: "is the leader
# better?"); above it the splits leave the losses tied and the rule prior breaks the tie
TIE = 0.1
MIN_PAIRS = 3
# A gap below this share of the chosen loss's score does not change the advice: no one picks
# a loss for a 0.5% better validation score, which split noise alone often exceeds.
EQUIVALENCE = 0.005


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


class Decision:
    """The chosen loss, the comparison behind it, a confidence in [0, 1] and its label."""

    def __init__(
        self, chosen: LossId, comparison: Comparison | None, confidence: float, label: str
    ) -> None:
        self.chosen = chosen
        self.comparison = comparison
        self.confidence = confidence
        self.label = label


def _label(confidence: float) -> str:
    return "high" if confidence >= 0.95 else "medium" if confidence >= 0.8 else "low"


def _gap(best: CandidateResult, other: CandidateResult, sign: float) -> tuple[float, float]:
    pairs = [
        (x, y)
        for x, y in zip(best.scores, other.scores, strict=False)
        if math.isfinite(x) and math.isfinite(y)
    ]
    if not pairs:
        return math.nan, math.nan
    gaps = np.array([sign * (x - y) for x, y in pairs])
    return float(gaps.mean()), float(gaps.std(ddof=1)) if gaps.size > 1 else 0.0


def decide(
    results: Sequence[CandidateResult],
    *,
    prior: Sequence[LossId],
    metric: MetricId,
    maximize: bool,
    contenders: Collection[LossId] | None = None,
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
    """
    sign = 1.0 if maximize else -1.0
    scored = [
        r for r in results if math.isfinite(r.mean) and (contenders is None or r.loss in contenders)
    ]
    if not scored:
        return Decision(prior[0], None, 0.5, "low")
    ranked = sorted(scored, key=lambda r: -sign * r.mean)
    best = ranked[0]
    p_values = {
        r.loss: paired_p_value([sign * s for s in best.scores], [sign * s for s in r.scores])
        for r in ranked[1:]
    }
    # tied with the best: the splits cannot tell them apart, or they show that the best's
    # lead is too small to matter (``settled`` the other way round)
    negligible = {r.loss for r in ranked[1:] if settled(r.scores, best.scores, maximize=maximize)}
    tied = [best.loss] + [loss for loss, p in p_values.items() if p >= TIE or loss in negligible]
    order = {loss: i for i, loss in enumerate(prior)}
    chosen = min(tied, key=lambda loss: order.get(loss, len(order)))
    name = metric.value
    if len(ranked) == 1:
        return Decision(best.loss, None, 0.5, "low")
    # the best is compared with the loss it is least clearly better than: the runner-up by
    # mean as a rule, but a noisier one further down can be closer in evidence
    runner = max(ranked[1:], key=lambda r: p_values[r.loss])
    p = p_values[runner.loss]
    gap, gap_std = _gap(best, runner, sign)
    if chosen is best.loss and p < SIGNIFICANCE:
        statement = (
            f"{best.loss.value} beats {runner.loss.value} by {gap:.4g} ± {gap_std:.2g} {name} "
            f"(paired t-test over {best.n} splits, p={p:.3g})"
        )
        confidence = 1.0 - p / 2
    elif chosen is best.loss:
        # losses the prior ranks above the best: each trails it at p < TIE
        rank = order.get(best.loss, len(order))
        overturned = [r for r in ranked[1:] if order.get(r.loss, len(order)) < rank]
        if overturned:
            first = min(overturned, key=lambda r: order[r.loss])
            prior_gap, prior_std = _gap(best, first, sign)
            # the prior's loss itself may trail significantly while a closer one does not
            p_first = p_values[first.loss]
            strength = (
                "significantly better"
                if p_first < SIGNIFICANCE
                else "likely better, not significant at 5%"
            )
            statement = (
                f"{best.loss.value} leads the rule prior {first.loss.value} by "
                f"{prior_gap:.4g} ± {prior_std:.2g} {name} over {best.n} paired splits "
                f"(p={p_first:.2g}): {strength}; the measured lead outweighs the prior"
            )
            if first is not runner:
                statement += f" (closest: {runner.loss.value}, p={p:.2g})"
        else:
            statement = (
                f"{best.loss.value} scores best but not significantly better than "
                f"{runner.loss.value} ({gap:.4g} ± {gap_std:.2g} {name}, p={p:.2g}); "
                f"it is also the rule prior's choice among them"
            )
        # leads, but not significantly: 0.5 (coin flip) to 0.8
        confidence = 0.5 + 0.3 * (1.0 - p)
    else:
        runner, p = next(r for r in ranked if r.loss is chosen), p_values[chosen]
        gap, gap_std = _gap(best, runner, sign)
        if chosen in negligible:
            statement = (
                f"{best.loss.value} (best mean) leads {chosen.value} by only {gap:.4g} ± "
                f"{gap_std:.2g} {name} (p={p:.2g}): less than the "
                f"{EQUIVALENCE:.1%} that would change the advice; the rule prior "
                f"({chosen.value}) stands"
            )
            # shown to cost at most EQUIVALENCE (one-sided 95%): a choice among equals
            confidence = 0.8
        else:
            statement = (
                f"no significant difference between {best.loss.value} (best mean) and "
                f"{chosen.value} ({gap:.4g} ± {gap_std:.2g} {name}, p={p:.2g}); "
                f"the rule prior ({chosen.value}) stands"
            )
            confidence = 0.5
    comparison = Comparison(
        best=best.loss,
        other=runner.loss,
        difference=gap,
        difference_std=gap_std,
        p_value=p,
        significant=p < SIGNIFICANCE,
        statement=statement,
    )
    return Decision(chosen, comparison, round(confidence, 3), _label(confidence))
