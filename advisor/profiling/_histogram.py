"""A numeric target's histogram with its outliers set apart, for the report's picture.

The outliers are the values the profile's ``mad_rate`` counts (modified z > 3.5, on log(y)
for a positive, skewed target), found with the same ``modified_z`` so the picture and the
rate cannot disagree. They are binned apart from the bulk: one value 30 MADs out would
otherwise stretch the bins until the bulk fits in one bar.
"""

from __future__ import annotations

import numpy as np

from advisor.records import TargetHistogram

from ._tails import MODIFIED_Z_CUTOFF, modified_z

__all__ = ["target_histogram"]

MAX_BINS = 40
MAX_OUTLIERS = 200


def target_histogram(
    ordered: np.ndarray, *, log: bool = False, max_bins: int = MAX_BINS
) -> TargetHistogram | None:
    """Bin the bulk of a sorted numeric target and keep its outliers (at most 200) apart.

    Args:
        ordered: the target's finite values in ascending order.
        log: bin and flag on log(y) (only for a positive target).
        max_bins: most bins for the bulk (fewer when numpy's "auto" rule asks for fewer).

    Returns:
        The histogram, or ``None`` when there are no values (or ``log`` meets one <= 0).

    Example:
        >>> import numpy as np
        >>> y = np.sort(np.r_[np.linspace(0.0, 1.0, 101), 40.0])
        >>> h = target_histogram(y, max_bins=4)
        >>> h.edges, h.counts, h.outliers, h.n_outliers
        ((0.0, 0.25, 0.5, 0.75, 1.0), (25, 25, 25, 26), (40.0,), 1)
    """
    values = np.asarray(ordered, dtype=np.float64)
    if values.size == 0 or (log and values[0] <= 0):
        return None
    measured = np.log(values) if log else values
    flagged = modified_z(measured) > MODIFIED_Z_CUTOFF
    bulk = measured[~flagged]
    if bulk.size == 0:  # cannot happen with a median-centred z, but never bin nothing
        bulk, flagged = measured, np.zeros_like(flagged)
    # numpy's rule, but at least one bin per 20 values up to 20 bins: "auto" is coarse for
    # a few hundred rows, where the shape is what the reader looks for
    auto = len(np.histogram_bin_edges(bulk, bins="auto")) - 1
    bins = min(max_bins, max(auto, min(20, bulk.size // 20)))
    counts, edges = np.histogram(bulk, bins=max(bins, 1))
    outliers = values[flagged]
    if outliers.size > MAX_OUTLIERS:  # an even spread over the sorted values keeps both ends
        outliers = outliers[np.linspace(0, outliers.size - 1, MAX_OUTLIERS).round().astype(int)]
    rule = f"modified z > {MODIFIED_Z_CUTOFF:g}" + (" on log(y)" if log else "")
    return TargetHistogram(
        scale="log" if log else "linear",
        edges=tuple(float(e) for e in (np.exp(edges) if log else edges)),
        counts=tuple(int(c) for c in counts),
        outliers=tuple(float(v) for v in outliers),
        n_outliers=int(flagged.sum()),
        rule=rule,
    )
