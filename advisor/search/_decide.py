"""Turn repeated, paired validation scores into a decision and an honest confidence.

The finalists were scored on the same R splits with the same seeds, so their differences are
paired: a paired t-test across splits measures both split and initialisation noise. A loss
that is not significantly worse than the best is tied with it, and ties go to the rule prior
(the shortlist's order, which already prefers the simpler, better-understood loss).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats

from advisor.records import CandidateResult, Comparison, LossId, MetricId

__all__ = ["Decision", "decide", "paired_p_value", "settled"]

SIGNIFICANCE = 0.05
MIN_PAIRS = 3
# A gap below this share of the chosen loss's score does not change the advice: no one picks
# a loss for a 0.5% better validation score, which split noise alone often exceeds.
EQUIVALENCE = 0.005


def _finite_pairs(a: Sequence[float], b: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """The splits where both losses were scored (a failed run scores NaN)."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
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


def settled(chosen: Sequence[float], other: Sequence[float], *, maximize: bool) -> bool:
    """True when more paired splits could not make ``other`` worth choosing over ``chosen``.

    That is when the one-sided 95% upper bound of ``other``'s advantage lies below
    EQUIVALENCE x |chosen's mean|: ``other`` is then significantly worse, or at best
    negligibly better. A stopping rule for futility only: it never ends a search because a
    challenger looks better, so it cannot inflate the chance of a false "significant".

    Example:
        >>> settled([0.50, 0.51, 0.52], [0.40, 0.41, 0.40], maximize=True)
        True
        >>> settled([0.50, 0.51, 0.52], [0.52, 0.49, 0.55], maximize=True)
        False
    """
    a, b = _finite_pairs(chosen, other)
    if a.size < MIN_PAIRS:
        return False
    sign = 1.0 if maximize else -1.0
    advantage = sign * (b - a)
    spread = advantage.std(ddof=1) / math.sqrt(advantage.size)
    upper = advantage.mean() + stats.t.ppf(0.95, advantage.size - 1) * spread
    return bool(upper < EQUIVALENCE * abs(a.mean()))


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
    results: Sequence[CandidateResult], *, prior: Sequence[LossId], metric: MetricId, maximize: bool
) -> Decision:
    """Pick the recommendation from confirmed results.

    Args:
        results: one per finalist, scores paired by split.
        prior: the shortlist order (rule prior), best first.
        metric: the validation metric, for the statement.
        maximize: the metric's direction.
    """
    sign = 1.0 if maximize else -1.0
    scored = [r for r in results if math.isfinite(r.mean)]
    if not scored:
        return Decision(prior[0], None, 0.5, "low")
    ranked = sorted(scored, key=lambda r: -sign * r.mean)
    best = ranked[0]
    p_values = {
        r.loss: paired_p_value([sign * s for s in best.scores], [sign * s for s in r.scores])
        for r in ranked[1:]
    }
    tied = [best.loss] + [loss for loss, p in p_values.items() if p >= SIGNIFICANCE]
    order = {loss: i for i, loss in enumerate(prior)}
    chosen = min(tied, key=lambda loss: order.get(loss, len(order)))
    name = metric.value
    if len(ranked) == 1:
        return Decision(best.loss, None, 0.5, "low")
    runner = ranked[1]
    p = p_values[runner.loss]
    gap, gap_std = _gap(best, runner, sign)
    if chosen is best.loss and p < SIGNIFICANCE:
        statement = (
            f"{best.loss.value} beats {runner.loss.value} by {gap:.4g} ± {gap_std:.2g} {name} "
            f"(paired t-test over {best.n} splits, p={p:.3g})"
        )
        confidence = 1.0 - p / 2
    elif chosen is best.loss:
        statement = (
            f"{best.loss.value} scores best but not significantly better than "
            f"{runner.loss.value} ({gap:.4g} ± {gap_std:.2g} {name}, p={p:.2g}); "
            f"it is also the rule prior's choice among them"
        )
        # leads, and the prior agrees, but not significantly: 0.5 (coin flip) to 0.8
        confidence = 0.5 + 0.3 * (1.0 - p)
    else:
        p_chosen = p_values[chosen]
        gap, gap_std = _gap(best, next(r for r in ranked if r.loss is chosen), sign)
        statement = (
            f"no significant difference between {best.loss.value} (best mean) and "
            f"{chosen.value} ({gap:.4g} ± {gap_std:.2g} {name}, p={p_chosen:.2g}); "
            f"the rule prior ({chosen.value}) stands"
        )
        runner, p = next(r for r in ranked if r.loss is chosen), p_chosen
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
