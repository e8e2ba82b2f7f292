"""The formula of each hand-written loss, written once: elementwise, before the mean.

The modules of ``_functions`` (one member: rows (N,) or (N, C), parameters as Python floats)
and the stacked kernels of ``_stacked`` (G members: rows (G, N, ...), parameters as (G, 1, ...)
tensors) both compute these, so a change to a formula reaches both. The PyTorch snippets of
``_snippet`` must stay self-contained code text; a test executes each one and compares its
value and gradient with the module's.

A parameter is a float or a tensor that broadcasts against the rows, taken through the same
ops either way. Each function is the exact op sequence the losses had before it was shared:
a module's numbers and a kernel's must not move by a bit when this file is refactored (the
batched-vs-alone training tests depend on the kernels being stack-independent).
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F  # noqa: N812 - the universal torch idiom

__all__ = [
    "LOG_VAR_BOUND",
    "class_weighted",
    "coral_levels",
    "gamma_deviance",
    "gaussian_variance",
    "hinge",
    "log_cosh",
    "logit_offset",
    "pinball",
    "sigmoid_focal",
    "softmax_focal",
    "squared_hinge",
    "tweedie_deviance",
]

Tensor = torch.Tensor
Param = float | Tensor

LOG_VAR_BOUND = 15.0  # exp(±15) spans 3e-7..3e6 standardized variances: far beyond real noise


def log_cosh(error: Tensor) -> Tensor:
    """log(cosh(e)) as e + softplus(-2e) - log 2, so that |e| = 50 stays finite."""
    return error + F.softplus(-2.0 * error) - math.log(2.0)


def pinball(error: Tensor, q: Param) -> Tensor:
    """Quantile loss of ``error = target - prediction``: q * e under, (1 - q) * (-e) over."""
    return torch.maximum(q * error, (q - 1.0) * error)


def gamma_deviance(log_mu: Tensor, target: Tensor) -> Tensor:
    """Half the Gamma deviance with a log link (mu = exp(log_mu)); targets > 0."""
    return target * torch.exp(-log_mu) - torch.log(target) + log_mu - 1.0


def tweedie_deviance(log_mu: Tensor, target: Tensor, power: Param) -> Tensor:
    """Half the Tweedie deviance with a log link, power p in (1, 2).

    The term in y alone is kept so that the value is a deviance (0 at a perfect fit).
    """
    p = power
    y_only = target.clamp(min=0.0).pow(2.0 - p) / ((1.0 - p) * (2.0 - p))
    cross = target * torch.exp((1.0 - p) * log_mu) / (1.0 - p)
    mean_term = torch.exp((2.0 - p) * log_mu) / (2.0 - p)
    return y_only - cross + mean_term


def hinge(score: Tensor, target: Tensor) -> Tensor:
    """max(0, 1 - y * s) on a raw score with ±1 targets."""
    return (1.0 - target * score).clamp(min=0.0)


def squared_hinge(score: Tensor, target: Tensor) -> Tensor:
    return hinge(score, target).square()


def sigmoid_focal(logits: Tensor, target: Tensor, gamma: Param) -> Tensor:
    """Sigmoid focal loss (Lin et al. 2017) with 0/1 (or probability) targets, unweighted:
    (1 - p_true)^gamma * BCE."""
    ce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    p = torch.sigmoid(logits)
    return (1.0 - (p * target + (1.0 - p) * (1.0 - target))).pow(gamma) * ce


def class_weighted(loss: Tensor, target: Tensor, positive: Param, negative: Param) -> Tensor:
    """A binary loss with positives weighted by ``positive``, negatives by ``negative`` (focal
    alpha: alpha and 1 - alpha)."""
    return (positive * target + negative * (1.0 - target)) * loss


def softmax_focal(ce: Tensor, gamma: Param) -> Tensor:
    """Softmax focal loss from each row's cross-entropy: (1 - p_y)^gamma * CE, p_y = exp(-CE)."""
    return (1.0 - torch.exp(-ce)).pow(gamma) * ce


def coral_levels(target: Tensor, like: Tensor) -> Tensor:
    """CORAL's binary levels 1[y > k] for k < K-1, as ``like``'s last axis counts them."""
    thresholds = torch.arange(like.shape[-1], device=like.device)
    return (target.reshape(-1, 1) > thresholds).to(like.dtype)


def logit_offset(log_prior: Tensor, tau: Param) -> Tensor:
    """The logit-adjusted loss's offset (Menon et al. 2021): cross-entropy on logits + this."""
    return tau * log_prior


def gaussian_variance(log_var: Tensor) -> Tensor:
    """A (mean, log-variance) head's variance, the log clamped so that exp cannot overflow."""
    return torch.exp(log_var.clamp(-LOG_VAR_BOUND, LOG_VAR_BOUND))
