"""Target transforms: canonical target -> what a loss trains on, and head output -> predictions.

The canonical target is float64 (N,) in original units for regression tasks, int64 class
indices (N,) for binary / multiclass / ordinal, float (N, L) 0/1 for multilabel and float
(N, C) rows summing to 1 for soft labels. ``predict`` always answers in the metric's terms:
original units for regression, probabilities for classification, whatever the loss trained on.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from advisor.errors import DataError
from advisor.losses._catalog import HeadKind, TargetKind, get_loss
from advisor.losses._context import LossContext, robust_center_scale
from advisor.records import LossId

__all__ = ["TargetTransform", "fit_target", "output_size"]

ROW_SUM_TOLERANCE = 1e-3  # probability rows read from CSV are often rounded to 3-4 decimals


def output_size(loss_id: LossId | str, n_classes: int) -> int:
    """Return how many outputs the network's last layer needs for this loss.

    Args:
        loss_id: The loss.
        n_classes: C classes or L labels (ignored by regression heads).
    """
    head, _ = get_loss(loss_id).form(n_classes)
    sizes = {
        HeadKind.MEAN_VAR: 2,
        HeadKind.LOGITS: n_classes,
        HeadKind.LABEL_LOGITS: n_classes,
        HeadKind.CUMULATIVE_LOGITS: n_classes - 1,
    }
    return sizes.get(head, 1)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TargetTransform:
    """A fitted encoding of the target for one loss; holds a few numbers, never arrays.

    Attributes:
        loss: The loss this transform feeds.
        head: The head kind the network outputs.
        kind: The target encoding.
        n_classes: C classes or L labels; 1 for regression.
        center: Subtracted before scaling (``standardize``, ``log1p_standardize``).
        scale: Divisor: the robust scale, or the mean for ``mean_scale``.
    """

    loss: LossId
    head: HeadKind
    kind: TargetKind
    n_classes: int = 1
    center: float = 0.0
    scale: float = 1.0

    def encode(self, y: np.ndarray) -> torch.Tensor:
        """Encode a canonical target for the loss module.

        Returns:
            float32 (N,) for regression, 0/1 and ±1 targets; int64 (N,) class indices; float32
            (N, C) probabilities or (N, L) indicators.

        Raises:
            DataError: ``y`` has the wrong shape or values outside the loss's domain.
        """
        y = _validate(self, np.asarray(y))
        kind = self.kind
        if kind is TargetKind.CLASS_INDEX:
            return torch.as_tensor(y.astype(np.int64))
        if kind is TargetKind.LOG1P_STANDARDIZE:
            y = (np.log1p(y) - self.center) / self.scale
        elif kind is TargetKind.STANDARDIZE:
            y = (y - self.center) / self.scale
        elif kind is TargetKind.MEAN_SCALE:
            y = y / self.scale
        elif kind is TargetKind.PLUS_MINUS_ONE:
            y = 2.0 * y - 1.0
        return torch.as_tensor(np.asarray(y, dtype=np.float32))

    def predict(self, output: torch.Tensor) -> np.ndarray:
        """Turn the head's raw output (N, out_dim) into predictions for the metrics.

        Returns:
            Regression: the point prediction in original units (N,); for an ordinal task
            trained with a regression loss, the continuous level code. Binary (two classes,
            class-index target): P(class 1) (N,); hinge losses give sigmoid(score), a
            monotone pseudo-probability good for ranking metrics, not calibrated. Multiclass
            and ordinal: (N, C) probabilities. Multilabel: (N, L) probabilities.
        """
        out = output.detach().to(torch.float64).cpu()
        if out.ndim == 1:
            out = out.reshape(-1, 1)
        head = self.head
        if head in (HeadKind.SCORE, HeadKind.MEAN_VAR):
            first = out[:, 0].numpy()
            if self.kind is TargetKind.PLUS_MINUS_ONE:
                return 1.0 / (1.0 + np.exp(-first))
            value = first * self.scale + self.center
            if self.kind is TargetKind.LOG1P_STANDARDIZE:
                return np.clip(np.expm1(value), 0.0, None)
            return value
        if head is HeadKind.LOG_MEAN:
            return np.exp(out[:, 0].numpy()) * self.scale
        if head in (HeadKind.LOGIT, HeadKind.LABEL_LOGITS):
            probs = torch.sigmoid(out).numpy()
            return probs[:, 0] if head is HeadKind.LOGIT else probs
        if head is HeadKind.CUMULATIVE_LOGITS:
            probs = _levels_from_cumulative(torch.sigmoid(out).numpy())
        else:
            probs = torch.softmax(out, dim=1).numpy()
        if self.n_classes == 2 and self.kind is TargetKind.CLASS_INDEX:
            return probs[:, 1]
        return probs


def _levels_from_cumulative(greater: np.ndarray) -> np.ndarray:
    """P(y = k) from P(y > k), after forcing P(y > k) non-increasing in k."""
    greater = np.minimum.accumulate(greater, axis=1)
    ones = np.ones((greater.shape[0], 1))
    zeros = np.zeros((greater.shape[0], 1))
    bounds = np.hstack([ones, greater, zeros])
    return bounds[:, :-1] - bounds[:, 1:]


def _fail(transform: TargetTransform, message: str) -> DataError:
    return DataError(f"target for loss {transform.loss.value!r}: {message}")


def _coerce(transform: TargetTransform, y: np.ndarray) -> np.ndarray:
    """Bridge the two class-target forms: soft rows train hard-label losses on their most
    likely class, and class indices train ``soft_ce`` as one-hot rows (identical to CE)."""
    kind = transform.kind
    hard = (TargetKind.CLASS_INDEX, TargetKind.BINARY01, TargetKind.PLUS_MINUS_ONE)
    if kind in hard and y.ndim == 2 and y.shape[0] and y.shape[1] == transform.n_classes > 1:
        return y.argmax(axis=1)
    if kind is TargetKind.PROBABILITIES and y.ndim == 1 and y.size:
        codes = y.astype(np.float64)
        whole = np.all(codes == np.round(codes)) and codes.min() >= 0
        if whole and codes.max() < transform.n_classes:
            return np.eye(transform.n_classes)[codes.astype(np.int64)]
    return y


def _validate(transform: TargetTransform, y: np.ndarray) -> np.ndarray:
    """Check ``y`` against the encoding's domain; return it as float64 or int64."""
    y = _coerce(transform, y)
    kind = transform.kind
    two_d = kind in (TargetKind.PROBABILITIES, TargetKind.INDICATORS)
    if y.ndim != (2 if two_d else 1) or y.shape[0] == 0:
        expected = "(N, C) with N > 0" if two_d else "(N,) with N > 0"
        raise _fail(transform, f"expected shape {expected}, got {y.shape}")
    values = y.astype(np.float64)
    if not np.all(np.isfinite(values)):
        raise _fail(transform, "contains NaN or infinite values; drop or impute those rows")
    if kind is TargetKind.MEAN_SCALE:
        strict = transform.loss is LossId.GAMMA
        if (values.min() <= 0) if strict else (values.min() < 0):
            need = "strictly positive" if strict else "non-negative"
            raise _fail(transform, f"needs {need} values, got min {float(values.min())!r}")
    elif kind is TargetKind.LOG1P_STANDARDIZE and values.min() <= -1:
        raise _fail(transform, f"needs values > -1 for log1p, got min {float(values.min())!r}")
    elif kind is TargetKind.BINARY01 and np.any(values != np.round(values)):
        # soft binary labels (probabilities): BCEWithLogitsLoss and the sigmoid focal loss
        # take them as they are
        if values.min() < 0 or values.max() > 1:
            raise _fail(transform, "expected 0/1 labels or probabilities in [0, 1]")
        return values
    elif kind in (TargetKind.CLASS_INDEX, TargetKind.BINARY01, TargetKind.PLUS_MINUS_ONE):
        n = 2 if kind is not TargetKind.CLASS_INDEX else transform.n_classes
        if np.any(values != np.round(values)) or values.min() < 0 or values.max() >= n:
            raise _fail(transform, f"expected class indices in 0..{n - 1}, got {np.unique(y)[:10]}")
        return values.astype(np.int64) if kind is TargetKind.CLASS_INDEX else values
    elif kind is TargetKind.PROBABILITIES:
        sums = values.sum(axis=1)
        if values.min() < 0 or np.max(np.abs(sums - 1.0)) > ROW_SUM_TOLERANCE:
            raise _fail(transform, "expected non-negative rows summing to 1")
    elif kind is TargetKind.INDICATORS and not np.all((values == 0) | (values == 1)):
        raise _fail(transform, "expected 0/1 label indicators")
    return values


def fit_target(loss_id: LossId | str, y: np.ndarray, *, context: LossContext) -> TargetTransform:
    """Fit the target encoding a loss needs on the training target.

    ``standardize`` uses center = median and scale = 1.4826 * MAD (std, then 1.0, if zero):
    outliers must not inflate the scale, or every ordinary residual would shrink towards zero
    and robust losses (Huber, log-cosh) would lose their quadratic region. ``mean_scale``
    divides by the mean so a log-link head starts near log(1) = 0 whatever the units.

    Args:
        loss_id: The loss.
        y: The canonical training target (see the module docstring).
        context: Supplies the number of classes (``n_outputs_classes``).

    Raises:
        DataError: ``y`` has the wrong shape or values outside the loss's domain.
    """
    spec = get_loss(loss_id)
    head, kind = spec.form(context.n_outputs_classes)
    transform = TargetTransform(
        loss=spec.id, head=head, kind=kind, n_classes=context.n_outputs_classes
    )
    values = _validate(transform, np.asarray(y))
    if kind is TargetKind.STANDARDIZE:
        center, scale = robust_center_scale(values)
    elif kind is TargetKind.LOG1P_STANDARDIZE:
        center, scale = robust_center_scale(np.log1p(values))
    elif kind is TargetKind.MEAN_SCALE:
        center, scale = 0.0, float(values.mean())
        if not scale > 0:
            raise _fail(transform, "all values are zero; a log-link loss needs a positive mean")
    else:
        return transform
    return dataclasses.replace(transform, center=center, scale=scale)
