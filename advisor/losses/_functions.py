"""Loss modules torch lacks, and thin adaptors around the built-ins it has.

Every module's ``forward(output, target)`` takes the head's raw output of shape (N, out_dim)
and the target as ``TargetTransform.encode`` produced it, and returns the scalar mean loss.
Single-output heads are flattened to (N,) here so a (N, 1) output never broadcasts against an
(N,) target into an (N, N) matrix (the classic silent MSE bug). The formulas themselves live in
``_formulas``, shared with the stacked kernels.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812 - the universal torch idiom

from advisor.losses import _formulas as formula

__all__ = [
    "BinaryFocalLoss",
    "CoralLoss",
    "FirstColumn",
    "GammaDevianceLoss",
    "GaussianNLLHead",
    "HingeLoss",
    "LogCoshLoss",
    "LogitAdjustedLoss",
    "MulticlassFocalLoss",
    "PinballLoss",
    "TweedieDevianceLoss",
]


def _column(output: torch.Tensor) -> torch.Tensor:
    """Flatten a (N, 1) head output to (N,)."""
    return output.reshape(-1) if output.ndim == 2 and output.shape[1] == 1 else output


class FirstColumn(nn.Module):
    """Apply a built-in elementwise loss to a single-output head, flattened to (N,)."""

    def __init__(self, loss: nn.Module) -> None:
        super().__init__()
        self.loss = loss

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.loss(_column(output), target)


class GaussianNLLHead(nn.Module):
    """Gaussian NLL for a (mean, log-variance) head, via ``torch.nn.GaussianNLLLoss``.

    The log-variance is clamped before ``exp`` so a wild early output cannot overflow.
    """

    def __init__(self) -> None:
        super().__init__()
        self.loss = nn.GaussianNLLLoss(full=False, eps=1e-6)

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.loss(output[:, 0], target, formula.gaussian_variance(output[:, 1]))


class LogCoshLoss(nn.Module):
    """mean(log(cosh(e))), computed as e + softplus(-2e) - log 2 so that |e| = 50 stays finite."""

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return formula.log_cosh(_column(output) - target).mean()


class PinballLoss(nn.Module):
    """Quantile (pinball) loss: q * e for under-prediction, (1 - q) * (-e) for over-prediction."""

    def __init__(self, q: float) -> None:
        super().__init__()
        self.q = q

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return formula.pinball(target - _column(output), self.q).mean()


class GammaDevianceLoss(nn.Module):
    """Half the Gamma deviance with a log link: mu = exp(output).

    Equals ``sklearn.metrics.mean_gamma_deviance(y, mu) / 2`` (the factor 1/2 is the usual
    log-likelihood convention, as in scikit-learn's ``HalfGammaLoss``). Targets must be > 0.
    """

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return formula.gamma_deviance(_column(output), target).mean()


class TweedieDevianceLoss(nn.Module):
    """Half the Tweedie deviance with a log link, for a power p in (1, 2).

    Equals ``sklearn.metrics.mean_tweedie_deviance(y, exp(output), power=p) / 2``. The term in
    y alone is kept so that the value is a deviance (0 at a perfect fit), not just a gradient.
    """

    def __init__(self, power: float) -> None:
        super().__init__()
        self.power = power

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return formula.tweedie_deviance(_column(output), target, self.power).mean()


class HingeLoss(nn.Module):
    """mean(max(0, 1 - y * s)) on a raw score with ±1 targets; squared for the squared hinge."""

    def __init__(self, *, squared: bool = False) -> None:
        super().__init__()
        self.squared = squared

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        loss = formula.squared_hinge if self.squared else formula.hinge
        return loss(_column(output), target).mean()


class BinaryFocalLoss(nn.Module):
    """Sigmoid focal loss (Lin et al. 2017) on logits with 0/1 targets, elementwise then mean.

    Used for the binary focal loss (one logit, target (N,)) and for the multilabel one
    (L logits, target (N, L)). ``alpha`` weights positives by alpha and negatives by 1 - alpha;
    None applies no weighting, so gamma=0 without alpha is exactly BCEWithLogitsLoss.
    """

    def __init__(self, *, gamma: float, alpha: float | None = None) -> None:
        super().__init__()
        self.gamma = gamma
        self.alpha = alpha

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        logits = _column(output) if target.ndim == 1 else output
        if self.gamma == 0 and self.alpha is None:
            # Exactly BCE, bit for bit: a mean of "none" reductions sums in another order.
            return F.binary_cross_entropy_with_logits(logits, target)
        loss = formula.sigmoid_focal(logits, target, self.gamma)
        if self.alpha is not None:
            loss = formula.class_weighted(loss, target, self.alpha, 1.0 - self.alpha)
        return loss.mean()


class MulticlassFocalLoss(nn.Module):
    """Softmax focal loss on C logits with class-index targets: mean((1 - p_y)^gamma * CE).

    Alpha is a binary notion (positives vs negatives) and is not defined here; use
    ce_weighted or ce_class_balanced for per-class weights.
    """

    def __init__(self, *, gamma: float) -> None:
        super().__init__()
        self.gamma = gamma

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.gamma == 0:
            return F.cross_entropy(output, target)  # exactly CE, as above
        ce = F.cross_entropy(output, target, reduction="none")
        return formula.softmax_focal(ce, self.gamma).mean()


class LogitAdjustedLoss(nn.Module):
    """Cross-entropy on logits + tau * log(prior) (Menon et al. 2021, logit-adjusted loss).

    The offset makes frequent classes "cheaper" during training only; predictions use the raw
    logits, which then estimate balanced (prior-free) class scores.
    """

    def __init__(self, log_prior: torch.Tensor, *, tau: float) -> None:
        super().__init__()
        self.register_buffer("offset", formula.logit_offset(log_prior, tau))

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(output + self.offset, target)


class CoralLoss(nn.Module):
    """Ordinal loss of CORAL (Cao et al. 2020): mean BCE of K-1 logits against 1[y > k].

    This is the loss only, applied to plain K-1 logits: the CORAL constraint (one shared
    weight vector with K-1 biases, which guarantees rank-consistent thresholds) belongs to the
    network's head and is not imposed here. Predictions therefore clip the cumulative
    probabilities to be non-increasing (see ``TargetTransform.predict``).
    """

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(output, formula.coral_levels(target, output))
