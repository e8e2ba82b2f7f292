"""Class balance of a classification target.

Level bands, on ``ratio = majority count / minority count`` (the same bands as
:class:`advisor.records.ImbalanceLevel`):

============  ==================
level         ratio
============  ==================
balanced      ratio < 1.5
mild          1.5 <= ratio < 3
strong        3 <= ratio < 10
extreme       ratio >= 10
============  ==================

For multilabel targets each label is a binary problem: ``ratio`` is the worst label's
imbalance, ``max(neg, pos) / min(neg, pos)`` (plain neg/pos would call a label that is 90%
positive "balanced"), and ``minority_share`` the rarest label's positive rate.

The effective number of samples per class follows Cui et al., "Class-Balanced Loss Based on
Effective Number of Samples" (CVPR 2019): ``E_n = (1 - beta**n) / (1 - beta)`` with
``beta = (N - 1) / N`` for N training rows; ``ce_class_balanced`` weights classes by ``1 / E_n``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from advisor.records import ImbalanceLevel, ImbalanceStats

__all__ = ["effective_number", "imbalance_level", "measure_imbalance", "multilabel_imbalance"]

#: Lower bounds of the mild, strong and extreme bands.
LEVEL_BOUNDS: tuple[tuple[float, ImbalanceLevel], ...] = (
    (10.0, ImbalanceLevel.EXTREME),
    (3.0, ImbalanceLevel.STRONG),
    (1.5, ImbalanceLevel.MILD),
)


def imbalance_level(ratio: float) -> ImbalanceLevel:
    """Name the band of a majority/minority ratio.

    Example:
        >>> [imbalance_level(r).value for r in (1.49, 1.5, 2.99, 3.0, 9.99, 10.0)]
        ['balanced', 'mild', 'mild', 'strong', 'strong', 'extreme']
    """
    for bound, level in LEVEL_BOUNDS:
        if ratio >= bound:
            return level
    return ImbalanceLevel.BALANCED


def effective_number(count: int, total: int) -> float:
    """Cui et al.'s effective number of samples, with ``beta = (total - 1) / total``.

    Computed as ``total * (1 - beta**count)`` through ``expm1``/``log1p`` so large totals keep
    their precision.

    Example:
        >>> round(effective_number(10, 100), 3), effective_number(1, 1)
        (9.562, 1.0)
    """
    if count <= 0:
        return 0.0
    if total <= 1:
        return float(count)
    return -total * math.expm1(count * math.log1p(-1.0 / total))


def measure_imbalance(class_counts: Mapping[str, int]) -> ImbalanceStats:
    """Balance of a binary, multiclass or ordinal target from its class counts.

    Example:
        >>> stats = measure_imbalance({"no": 90, "yes": 10})
        >>> stats.ratio, stats.minority_share, stats.level.value
        (9.0, 0.1, 'strong')
    """
    counts = {str(k): int(v) for k, v in class_counts.items()}
    total = sum(counts.values())
    present = [c for c in counts.values() if c > 0]
    majority, minority = max(present), min(present)
    ratio = majority / minority
    return ImbalanceStats(
        ratio=round(ratio, 6),
        minority_share=round(minority / total, 6),
        level=imbalance_level(ratio),
        class_counts=counts,
        effective_numbers={k: round(effective_number(c, total), 4) for k, c in counts.items()},
    )


def multilabel_imbalance(positives: Mapping[str, int], total: int) -> ImbalanceStats:
    """Balance of a multilabel target: per-label positive rates; the worst label sets the ratio.

    Labels that are never (or always) positive are left out of the ratio, which would be
    infinite; the profile warns about them.

    Example:
        >>> stats = multilabel_imbalance({"a": 50, "b": 5}, 100)
        >>> stats.ratio, stats.level.value, dict(stats.positive_rates)
        (19.0, 'extreme', {'a': 0.5, 'b': 0.05})
    """
    counts = {str(k): int(v) for k, v in positives.items()}
    ratios = [max(total - p, p) / min(total - p, p) for p in counts.values() if 0 < p < total]
    ratio = max(ratios) if ratios else 1.0
    rates = {k: round(p / total, 6) for k, p in counts.items()}
    usable = [r for r in rates.values() if r > 0]
    return ImbalanceStats(
        ratio=round(ratio, 6),
        minority_share=min(usable) if usable else 0.0,
        level=imbalance_level(ratio),
        class_counts=counts,
        effective_numbers={k: round(effective_number(c, total), 4) for k, c in counts.items()},
        positive_rates=rates,
    )
