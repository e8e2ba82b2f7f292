"""What a loss needs to know about the data, and the parameters and weights derived from it.

Several losses are not fully defined by their hyper-parameters: Huber's delta is given in the
target's units, class weights and priors come from class counts. ``LossContext`` carries those
summaries (never arrays), and the helpers here turn them into the numbers both ``build_loss``
and ``pytorch_snippet`` use, so the module and the printed code can never disagree.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

import numpy as np

from advisor._validation import did_you_mean
from advisor.errors import UsageError
from advisor.losses._catalog import BUILTIN_IDS, get_loss
from advisor.records import LossId, Task

__all__ = [
    "LossContext",
    "build_context",
    "class_balanced_weights",
    "inverse_frequency_weights",
    "log_prior",
    "pos_weights",
    "resolve_params",
    "robust_center_scale",
]

HUBER_DELTA_FACTOR = 1.345  # 95% efficiency at the normal (Huber 1964), in robust-scale units
MAD_TO_SD = 1.4826  # makes the MAD a consistent estimator of the normal standard deviation


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class LossContext:
    """Data summaries a loss is built from.

    Attributes:
        n_outputs_classes: C classes or L labels; 1 for regression.
        class_counts: Rows per class; for multilabel, positive rows per label.
        n_rows: Training rows the counts were taken on.
        target_scale: Scale of the fitted ``standardize`` transform, so that parameters given
            in the target's original units (Huber's delta) can be expressed in encoded units.
    """

    n_outputs_classes: int = 1
    class_counts: tuple[int, ...] | None = None
    n_rows: int = 0
    target_scale: float = 1.0


def robust_center_scale(values: np.ndarray) -> tuple[float, float]:
    """Return (median, 1.4826 * MAD), falling back to the std, then 1.0, for the scale.

    The median and MAD ignore outliers, so one wild target value cannot shrink every other
    residual towards zero in encoded units (which would silently make MSE and Huber act alike).
    The fallbacks keep the scale positive for targets that are mostly one value.
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    values = values[np.isfinite(values)]
    if values.size == 0:
        return 0.0, 1.0
    center = float(np.median(values))
    scale = MAD_TO_SD * float(np.median(np.abs(values - center)))
    if not scale > 0:
        scale = float(np.std(values))
    if not scale > 0:
        scale = 1.0
    return center, scale


def build_context(y: np.ndarray, *, task: Task, n_classes: int | None = None) -> LossContext:
    """Summarise a canonical target into a ``LossContext``.

    Args:
        y: The canonical target (see ``fit_target``).
        task: The task, which tells soft labels (multiclass) from label indicators.
        n_classes: Number of classes when some may be absent from ``y``.
    """
    task = Task(task)
    y = np.asarray(y)
    n_rows = int(y.shape[0])
    if task.is_regression:
        return LossContext(n_rows=n_rows, target_scale=robust_center_scale(y)[1])
    if y.ndim == 2:
        counts = np.rint(np.nan_to_num(y.astype(np.float64)).sum(axis=0)).astype(int)
        return LossContext(
            n_outputs_classes=int(y.shape[1]), class_counts=tuple(counts.tolist()), n_rows=n_rows
        )
    if np.issubdtype(y.dtype, np.floating) and np.any(y != np.rint(y)):
        # soft binary labels: the class counts a hard-label sample would have, in expectation
        positives = int(np.rint(y.sum()))
        return LossContext(
            n_outputs_classes=2,
            class_counts=(n_rows - positives, positives),
            n_rows=n_rows,
            target_scale=robust_center_scale(y)[1],
        )
    codes = y.astype(np.int64)
    size = max(int(n_classes or 0), int(codes.max(initial=-1)) + 1)
    counts = np.bincount(codes, minlength=size)
    return LossContext(
        n_outputs_classes=size,
        class_counts=tuple(int(c) for c in counts),
        n_rows=n_rows,
        target_scale=robust_center_scale(codes)[1],
    )


def _counts(context: LossContext, loss_id: LossId) -> np.ndarray:
    if context.class_counts is None:
        raise UsageError(f"loss {loss_id.value!r} needs class_counts in its LossContext; got None")
    # A class absent from the training rows would get an infinite weight or a log(0) prior;
    # counting it once keeps the loss finite and still weights it the most.
    return np.maximum(np.asarray(context.class_counts, dtype=np.float64), 1.0)


def _rounded(values: np.ndarray) -> tuple[float, ...]:
    """Round to 4 decimals (4 significant digits below 1e-2).

    The printed PyTorch snippet shows these literals; rounding here too makes the trained
    module and the printed code compute exactly the same loss.
    """
    return tuple(
        float(f"{v:.4g}") if abs(v) < 1e-2 else round(float(v), 4) for v in values.tolist()
    )


def inverse_frequency_weights(context: LossContext) -> tuple[float, ...]:
    """Per-class weights proportional to 1 / n_c, normalised to sum to C."""
    inverse = 1.0 / _counts(context, LossId.CE_WEIGHTED)
    return _rounded(inverse * inverse.size / inverse.sum())


def class_balanced_weights(context: LossContext, *, beta: float) -> tuple[float, ...]:
    """Cui et al. (2019) weights (1 - beta) / (1 - beta**n_c), normalised to sum to C."""
    counts = _counts(context, LossId.CE_CLASS_BALANCED)
    weights = (1.0 - beta) / (1.0 - np.power(beta, counts))
    return _rounded(weights * weights.size / weights.sum())


def log_prior(context: LossContext) -> tuple[float, ...]:
    """Log of the class frequencies, the offset of the logit-adjusted loss (Menon et al.)."""
    counts = _counts(context, LossId.LOGIT_ADJUSTED)
    return _rounded(np.log(counts / counts.sum()))


def pos_weights(context: LossContext, loss_id: LossId) -> tuple[float, ...]:
    """negatives / positives, per label for multilabel, or one value from binary class counts."""
    counts = _counts(context, loss_id)
    if loss_id is LossId.BCE_WEIGHTED:
        if counts.size != 2:
            raise UsageError(
                f"bce_weighted needs class_counts of 2 classes (negatives, positives); "
                f"got {len(counts)} counts"
            )
        return _rounded(counts[:1] / counts[1:])
    positives = counts
    negatives = np.maximum(float(context.n_rows) - positives, 1.0)
    return _rounded(negatives / positives)


# name -> (lowest, highest, low inclusive, high inclusive): where each loss is defined at all
_DOMAINS: dict[str, tuple[float, float, bool, bool]] = {
    "delta": (0.0, math.inf, False, False),
    "q": (0.0, 1.0, False, False),
    "power": (1.0, 2.0, False, False),
    "gamma": (0.0, math.inf, True, False),
    "alpha": (0.0, 1.0, True, True),
    "beta": (0.0, 1.0, True, False),
    "epsilon": (0.0, 1.0, True, False),
    "tau": (0.0, math.inf, True, False),
    "margin": (0.0, math.inf, False, False),
    "pos_weight": (0.0, math.inf, False, False),
}


def _check_domain(loss_id: LossId, name: str, value: float) -> None:
    low, high, low_in, high_in = _DOMAINS[name]
    above = value >= low if low_in else value > low
    below = value <= high if high_in else value < high
    if not (above and below and math.isfinite(value)):
        interval = f"{'[' if low_in else '('}{low:g}, {high:g}{']' if high_in else ')'}"
        raise UsageError(f"{loss_id.value} parameter {name}={value!r} is outside {interval}")


def resolve_params(
    loss_id: LossId | str, params: Mapping[str, float | None], *, context: LossContext
) -> dict[str, float | None]:
    """Merge ``params`` over the catalog defaults and fill the data-derived ones.

    Values stay in the units the user gives them, so the result can be reported, and passed
    again to ``resolve_params``, ``build_loss`` or ``pytorch_snippet`` with the same meaning:
    a missing Huber delta becomes 1.345 robust scales in the target's ORIGINAL units
    (``build_loss`` divides by ``target_scale``); a missing bce_weighted pos_weight becomes
    negatives/positives. Focal's alpha stays None when absent: "no alpha weighting". A
    registered loss's values are only checked to be finite: its module knows its own domain.

    Raises:
        UsageError: An unknown parameter name, or a value where the loss is undefined.
    """
    spec = get_loss(loss_id)
    merged = spec.defaults()
    for name, value in params.items():
        if name not in merged:
            known = ", ".join(merged) or "none"
            raise UsageError(
                f"loss {spec.id.value!r} has no parameter {name!r}{did_you_mean(name, merged)}"
                f" (parameters: {known})"
            )
        merged[name] = None if value is None else float(value)
    builtin = spec.id in BUILTIN_IDS
    for name, value in merged.items():
        if value is not None and builtin:
            _check_domain(spec.id, name, value)
        elif value is not None and not math.isfinite(value):  # a registered loss's own range
            raise UsageError(f"{spec.id.value} parameter {name}={value!r} is not finite")
    for param in spec.params:  # an integer parameter reaches the module as an int
        value = merged[param.name]
        if param.type == "int" and value is not None:
            merged[param.name] = int(round(value))
    if "delta" in merged and builtin:
        delta = merged["delta"]
        merged["delta"] = HUBER_DELTA_FACTOR * context.target_scale if delta is None else delta
    if spec.id is LossId.BCE_WEIGHTED and merged["pos_weight"] is None:
        merged["pos_weight"] = pos_weights(context, spec.id)[0]
    return merged
