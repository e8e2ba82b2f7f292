"""Distribution, tails and outliers of a numeric target.

Cost on big tables: every statistic here is a handful of vectorised passes over the target,
except two that are kept cheap on purpose:

* the Hill tail index uses only the upper 5% of ``|y - median|`` (found with ``np.partition``);
* the residual outlier rate fits its robust linear model on a seeded subsample of at most
  20,000 rows and 100 numeric features (the ones most correlated with the target).

Outlier measures (``OutlierStats``):

* ``mad_rate``: share with modified z ``0.6745 |y - median| / MAD > 3.5`` (Iglewicz & Hoaglin);
  when the MAD is 0 (more than half the values equal) the mean absolute deviation stands in:
  ``|y - median| / (1.253314 * MeanAD)``.
* ``iqr_rate``: share outside ``[Q1 - 3 IQR, Q3 + 3 IQR]`` ("far out" fences); 0 when the IQR
  is 0, where the fences are undefined.
* ``residual_rate``: the same modified z > 3.5 on the residuals of a Huber (IRLS) linear fit of
  the standardised target on standardised, median-imputed numeric features. It catches label
  noise that hides inside the marginal distribution. ``None`` without numeric features.
* ``rate``: the largest of those available.

The residual fit's evidence also says how far the farthest numeric feature value lies from
its column's mean, in standard deviations (``feature_max_abs_z``, on the same rows): a few
extreme feature values let a log-link head (Poisson, Gamma, Tweedie) extrapolate to
``exp(large)`` on held-out rows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from advisor.records import OutlierStats, TargetStats

__all__ = [
    "MODIFIED_Z_CUTOFF",
    "describe_target",
    "measure_outliers",
    "modified_z",
    "skewness",
    "sorted_quantile",
]

MODIFIED_Z_CUTOFF = 3.5
IQR_FENCE = 3.0
TAIL_SHARE = 0.05
MIN_TAIL_POINTS = 10
RESIDUAL_ROWS = 20_000
RESIDUAL_FEATURES = 100
_HUBER_C = 1.345


def describe_target(
    y: np.ndarray,
    *,
    n_missing: int = 0,
    n_unique: int | None = None,
    presorted: bool = False,
) -> TargetStats:
    """Summary statistics of a numeric target (missing values already removed).

    Skewness is :func:`skewness`, the one measure task detection reads too, so the profile
    states one figure. Kurtosis is the bias-corrected excess kurtosis (the formula of
    ``scipy.stats.kurtosis(bias=False)``, 0 for a normal). ``dispersion`` is variance / mean,
    for non-negative targets with a positive mean (1 for Poisson counts, > 1 over-dispersed).

    Args:
        y: the values.
        n_missing: how many were dropped as missing (reported only).
        n_unique: the number of distinct values, when already known.
        presorted: ``y`` is already in ascending order (saves a sort on big targets).

    Example:
        >>> import numpy as np
        >>> stats = describe_target(np.array([0.0, 1, 1, 2, 3, 10]))
        >>> stats.median, stats.zero_fraction, stats.is_integer, stats.is_non_negative
        (1.5, 0.16666666666666666, True, True)
    """
    y = np.asarray(y, dtype=np.float64)
    ordered = y if presorted else np.sort(y)
    n = int(ordered.size)
    lo, hi = float(ordered[0]), float(ordered[-1])
    median, q1, q3 = (sorted_quantile(ordered, q) for q in (0.5, 0.25, 0.75))
    mean = float(ordered.mean())
    centred = ordered - mean
    squares = centred * centred
    m2 = float(squares.mean())
    std = math.sqrt(m2 * n / (n - 1)) if n > 1 else 0.0
    kurtosis = None
    if n > 3 and m2 > 0:
        m4 = float(np.dot(squares, squares)) / n
        kurtosis = (n - 1) / ((n - 2) * (n - 3)) * ((n + 1) * (m4 / m2**2 - 3) + 6)
    if n_unique is None:
        n_unique = int(np.count_nonzero(ordered[1:] != ordered[:-1])) + 1
    non_negative = lo >= 0
    return TargetStats(
        n=n,
        n_unique=int(n_unique),
        n_missing=int(n_missing),
        mean=mean,
        std=std,
        min=lo,
        max=hi,
        median=median,
        mad=float(np.median(np.abs(centred + (mean - median)))),
        iqr=q3 - q1,
        skewness=skewness(ordered),
        kurtosis=kurtosis,
        tail_index=hill_tail_index(ordered, median=median),
        zero_fraction=float(np.count_nonzero(ordered == 0) / n),
        dispersion=float(std**2 / mean) if non_negative and mean > 0 and n > 1 else None,
        is_integer=bool(np.all(np.floor(ordered) == ordered)),
        is_positive=lo > 0,
        is_non_negative=non_negative,
        in_unit_interval=bool(non_negative and hi <= 1),
    )


def skewness(y: np.ndarray) -> float | None:
    """The target's sample skewness: the one measure every part of the profile reads.

    The adjusted Fisher-Pearson coefficient G1 of ``pandas.Series.skew`` (bias-corrected,
    equal to ``scipy.stats.skew(bias=False)``; pandas raises no precision-loss warning on
    values that barely vary). Task detection's thresholds (skewness > 1 reads positive values
    as ``regression_positive``), ``target_stats.skewness`` and ``evidence.skewness`` all come
    from here, so one target never gets two figures. ``None`` where it is undefined (fewer
    than 3 values, or all equal).

    Example:
        >>> import numpy as np
        >>> round(skewness(np.array([1.0, 2, 10])), 4), skewness(np.array([3.0, 3, 3]))
        (1.6523, None)
    """
    value = float(pd.Series(y, dtype=np.float64, copy=False).skew())
    return value if math.isfinite(value) else None


def sorted_quantile(ordered: np.ndarray, q: float) -> float:
    """Quantile of an ascending array, interpolated linearly like ``np.quantile``'s default.

    Example:
        >>> import numpy as np
        >>> bool(sorted_quantile(np.array([1.0, 2, 3, 4]), 0.25) == np.quantile([1, 2, 3, 4], 0.25))
        True
    """
    position = q * (ordered.size - 1)
    below = int(math.floor(position))
    above = min(below + 1, ordered.size - 1)
    low, high = float(ordered[below]), float(ordered[above])
    return low + (high - low) * (position - below)


def hill_tail_index(y: np.ndarray, *, median: float | None = None) -> float | None:
    """Hill estimate of the tail index alpha on the upper 5% of ``|y - median|``.

    Small alpha means heavy tails (alpha < 2: infinite variance). ``None`` when fewer than 10
    points fall in the tail or the tail threshold is 0.

    Example:
        >>> import numpy as np
        >>> pareto = np.random.default_rng(0).pareto(2.0, 200_000) + 1
        >>> round(hill_tail_index(pareto, median=0.0), 1)
        2.0
    """
    deviations = np.abs(y - (np.median(y) if median is None else median))
    k = int(deviations.size * TAIL_SHARE)
    if k < MIN_TAIL_POINTS:
        return None
    top = np.partition(deviations, deviations.size - k - 1)[deviations.size - k - 1 :]
    threshold = float(top[0])
    if threshold <= 0:
        return None
    mean_log_excess = float(np.mean(np.log(top[1:] / threshold)))
    return 1.0 / mean_log_excess if mean_log_excess > 0 else None


def modified_z(
    values: np.ndarray, *, median: float | None = None, mad: float | None = None
) -> np.ndarray:
    """``0.6745 |x - median| / MAD``, with the mean-absolute-deviation fallback when MAD is 0.

    Example:
        >>> import numpy as np
        >>> modified_z(np.array([1.0, 2, 3, 4, 100])).round(2).tolist()
        [1.35, 0.67, 0.0, 0.67, 65.43]
    """
    median = float(np.median(values)) if median is None else median
    deviations = np.abs(values - median)
    mad = float(np.median(deviations)) if mad is None else mad
    if mad > 0:
        return 0.6745 * deviations / mad
    mean_ad = float(deviations.mean())
    if mean_ad == 0:
        return np.zeros_like(deviations)
    return deviations / (1.253314 * mean_ad)


def measure_outliers(
    y: np.ndarray,
    features: pd.DataFrame | None = None,
    *,
    numeric_columns: Sequence[str] = (),
    positions: np.ndarray | None = None,
    sorted_y: np.ndarray | None = None,
    mad: float | None = None,
    seed: int = 0,
) -> tuple[OutlierStats, dict[str, float | int]]:
    """Outlier rates of a numeric target; also returns the evidence of the residual fit.

    Args:
        y: target values (missing removed).
        features: the table holding the features.
        numeric_columns: which feature columns to fit on (numeric or boolean).
        positions: the row position in ``features`` of each value of ``y`` (default: the same).
        sorted_y: ``y`` in ascending order, when already at hand (saves a sort).
        mad: the median absolute deviation of ``y``, when already at hand.
        seed: seed of the row subsample of the residual fit.

    Example:
        >>> import numpy as np
        >>> y = np.r_[np.random.default_rng(0).normal(size=990), np.full(10, 50.0)]
        >>> stats, _ = measure_outliers(y)
        >>> round(stats.mad_rate, 3), stats.residual_rate is None
        (0.012, True)
    """
    y = np.asarray(y, dtype=np.float64)
    ordered = np.sort(y) if sorted_y is None else sorted_y
    median = sorted_quantile(ordered, 0.5)
    mad_rate = float(np.mean(modified_z(ordered, median=median, mad=mad) > MODIFIED_Z_CUTOFF))
    q1, q3 = sorted_quantile(ordered, 0.25), sorted_quantile(ordered, 0.75)
    iqr = q3 - q1
    if iqr > 0:
        outside = (ordered < q1 - IQR_FENCE * iqr) | (ordered > q3 + IQR_FENCE * iqr)
        iqr_rate = float(np.mean(outside))
    else:
        iqr_rate = 0.0
    residual_rate, evidence = None, {}
    if features is not None and len(numeric_columns):
        residual_rate, evidence = _residual_rate(
            y, features, numeric_columns, positions=positions, seed=seed
        )
    rates = [mad_rate, iqr_rate] + ([residual_rate] if residual_rate is not None else [])
    stats = OutlierStats(
        mad_rate=mad_rate, iqr_rate=iqr_rate, residual_rate=residual_rate, rate=max(rates)
    )
    return stats, evidence


def _residual_rate(
    y: np.ndarray,
    features: pd.DataFrame,
    columns: Sequence[str],
    *,
    positions: np.ndarray | None,
    seed: int,
) -> tuple[float | None, dict[str, float | int]]:
    rng = np.random.default_rng(seed)
    rows = np.arange(y.size)
    if y.size > RESIDUAL_ROWS:
        rows = np.sort(rng.choice(y.size, RESIDUAL_ROWS, replace=False))
    target = y[rows]
    frame_rows = rows if positions is None else positions[rows]
    # gather the sampled rows column by column: never copies the whole table
    x = np.empty((rows.size, len(columns)), dtype=np.float64, order="F")
    for j, name in enumerate(columns):
        column = features[name]
        raw = column.to_numpy()
        if raw.dtype.kind in "fiub":
            x[:, j] = raw[frame_rows]
        else:
            x[:, j] = column.iloc[frame_rows].to_numpy(dtype=np.float64, na_value=np.nan)
    holes = ~np.isfinite(x)
    if holes.any():
        for j in np.flatnonzero(holes.any(axis=0)):
            known = x[~holes[:, j], j]
            x[holes[:, j], j] = np.median(known) if known.size else np.nan
        x = x[:, np.isfinite(x).all(axis=0)]
    scale = x.std(axis=0)
    x = (x[:, scale > 0] - x[:, scale > 0].mean(axis=0)) / scale[scale > 0]
    t_scale = float(target.std())
    if x.shape[1] == 0 or t_scale == 0:
        return None, {}
    # how far the farthest feature value lies from its column's mean, in standard deviations:
    # a log-link head turns such a value into exp(large) on rows beyond the training range
    farthest = round(float(np.abs(x).max()), 2)
    t = (target - target.mean()) / t_scale
    if x.shape[1] > RESIDUAL_FEATURES:
        correlation = np.abs(x.T @ t) / t.size
        x = x[:, np.argsort(correlation)[::-1][:RESIDUAL_FEATURES]]
    # keep the fit well determined: at least ~5 rows per coefficient
    x = x[:, : max(1, min(x.shape[1], (t.size - 1) // 5))]
    # OpenBLAS threads fight pyarrow's pool for the cores and slow small solves 20-fold
    with threadpool_limits(limits=1, user_api="blas"):
        residuals = _huber_residuals(np.column_stack([np.ones(t.size), x]), t)
    rate = float(np.mean(modified_z(residuals) > MODIFIED_Z_CUTOFF))
    explained = 1.0 - float(np.median(np.abs(residuals)) / max(np.median(np.abs(t)), 1e-12))
    # the noise the features leave, in the target's units: what Huber's delta is a multiple of
    noise = 1.4826 * float(np.median(np.abs(residuals))) * t_scale
    return rate, {
        "residual_fit_rows": int(t.size),
        "residual_fit_features": int(x.shape[1]),
        "residual_fit_mad_reduction": round(explained, 4),
        "residual_fit_scale": float(f"{noise:.6g}"),
        "feature_max_abs_z": farthest,
    }


def _huber_residuals(x: np.ndarray, t: np.ndarray, *, iterations: int = 30) -> np.ndarray:
    """Residuals of a Huber regression by iteratively reweighted (lightly ridged) least squares."""
    ridge = 1e-6 * t.size * np.eye(x.shape[1])
    ridge[0, 0] = 0.0
    weights = np.ones(t.size)
    coef = np.zeros(x.shape[1])
    for _ in range(iterations):
        xw = x * weights[:, None]
        new = np.linalg.solve(x.T @ xw + ridge, xw.T @ t)
        residuals = t - x @ new
        scale = 1.4826 * float(np.median(np.abs(residuals)))
        if scale <= 0 or not math.isfinite(scale):
            return residuals
        absolute = np.abs(residuals)
        weights = np.minimum(1.0, _HUBER_C * scale / np.maximum(absolute, 1e-300))
        if np.allclose(new, coef, atol=1e-6):
            break
        coef = new
    return t - x @ coef
