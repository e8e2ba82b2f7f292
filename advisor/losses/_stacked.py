"""``stacked_loss``: the losses of G members of one loss id in one call, each with its params.

A batched training step that calls every member's ``build_loss`` module in turn pays small
forward and backward ops per member, a large share of a short run's step (figures:
benchmarks/README.md). Here the members that share a loss id (and so its encoded target) are
one call on their stacked head outputs; their hyper-parameters become (G, 1) tensors, so
members with different values still share every op. The hand-written losses' formulas are
those of the modules (``_formulas``); each member's value and gradient are those of its
``build_loss`` module up to float rounding (tests check both for every loss id).

A member's numbers must not depend on G, or batched and one-after-another training would drift
apart (see ``advisor.training._model``). Torch's CPU kernels run SIMD over a contiguous tensor
and finish the last few elements with scalar code, whose ``sigmoid`` or ``softplus`` can differ
in the last bit, so which of a member's rows land in that tail would depend on G. The rows are
therefore padded to a multiple of ``ROW_BLOCK``: every member's block starts on a SIMD boundary
and is a whole number of SIMD steps, in a stack of one as in a stack of eight. (Torch splits an
op across threads only above 32768 elements, and then in at most two chunks up to 65536, which
stay on SIMD boundaries; wider stacks on many threads could still differ.)

A registered loss (``advisor.losses.register``) has no stacked kernel: ``EachMember`` calls
each member's own ``build_loss`` module on its slice of the stack, which costs one small
forward and backward per member but trains exactly as that module does alone.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812 - the universal torch idiom

from advisor.errors import UsageError
from advisor.losses import _formulas as formula
from advisor.losses._build import build_loss
from advisor.losses._catalog import get_loss
from advisor.losses._context import (
    LossContext,
    class_balanced_weights,
    inverse_frequency_weights,
    log_prior,
    pos_weights,
    resolve_params,
)
from advisor.records import LossId

__all__ = ["ROW_BLOCK", "EachMember", "StackedLoss", "padded_rows", "stacked_loss"]

ROW_BLOCK = 64  # a multiple of every SIMD loop step: 2 vectors of 16 floats (AVX-512)

Tensor = torch.Tensor
_Params = dict[str, float | None]
_LossFn = Callable[..., Tensor]


def padded_rows(rows: int) -> int:
    """``rows`` rounded up to a whole number of ``ROW_BLOCK``s: what a stacked loss computes."""
    return -(-rows // ROW_BLOCK) * ROW_BLOCK


@functools.lru_cache(maxsize=64)
def _row_weight(
    padded: int, rows: int, scale: float, like: tuple[int, torch.dtype, torch.device]
) -> Tensor:
    """``scale`` on the real rows and 0 on the padding, shaped (padded, 1, ...) to broadcast
    over a (G, padded, ...) loss; ``like`` is its (ndim, dtype, device). Made once per shape."""
    ndim, dtype, device = like
    weight = torch.zeros(padded, *([1] * (ndim - 2)), dtype=dtype, device=device)
    weight[:rows] = scale
    return weight


class StackedLoss(nn.Module):
    """G members' mean losses: ``forward(output, target)`` -> (G,).

    ``loss`` maps the padded (see the module docstring) outputs and target to elementwise
    losses (G, N, ...), which are averaged over the real rows, or weighted by the class
    weights (G, C) of each row's class as ``CrossEntropyLoss(weight=...)`` does. A weight of 0
    drops the padding (always finite: zero outputs, target rows the loss accepts) with one
    multiply, where slicing it off would cost a slice, and a zero-filled gradient, per call.
    Parameters are buffers, so ``.to(device)`` moves them with the module.
    """

    def __init__(self, loss: _LossFn, *, class_weight: Tensor | None = None, **params: Tensor):
        super().__init__()
        self.loss = loss
        self.names = tuple(params)
        for name, value in params.items():
            self.register_buffer(name, value)
        self.class_weight: Tensor | None
        self.register_buffer("class_weight", class_weight)

    def forward(self, output: Tensor, target: Tensor, rows: int | None = None) -> Tensor:
        """Each member's mean loss (G,).

        Args:
            output: The members' head outputs stacked as (G, R, width).
            target: The encoded target they share, (R,) or (R, width), as
                ``TargetTransform.encode`` produced it.
            rows: How many of the R rows are real, the first ones (default: all). A caller
                may pad them to ``padded_rows(rows)`` itself, with zero outputs and target
                rows the loss accepts, to pay that copy once for all its calls.
        """
        rows = output.shape[1] if rows is None else rows
        extra = padded_rows(output.shape[1]) - output.shape[1]
        if extra:
            output = F.pad(output, (0, 0, 0, extra))
            # first-row copies: a value every loss accepts (gamma takes the log of the target)
            target = torch.cat([target, target[:1].expand(extra, *target.shape[1:])])
        loss = self.loss(output, target, **{name: getattr(self, name) for name in self.names})
        padded, like = loss.shape[1], (loss.ndim, loss.dtype, loss.device)
        if self.class_weight is None:
            scale = 1.0 / (rows * math.prod(loss.shape[2:]))
            return (loss * _row_weight(padded, rows, scale, like)).sum(tuple(range(1, loss.ndim)))
        row_weight = self.class_weight[:, target] * _row_weight(padded, rows, 1.0, like)
        return (row_weight * loss).sum(1) / row_weight.sum(1)


def _no_kernel(output: Tensor, target: Tensor) -> Tensor:
    raise NotImplementedError("EachMember calls its members' modules instead")


class EachMember(StackedLoss):
    """The generic ``StackedLoss``: each member's ``build_loss`` module on its own outputs.

    For losses without a stacked kernel (registered ones). Each module sees exactly what it
    would see alone: the member's real rows (N, width) and the encoded target (N, ...), and must
    return the scalar mean loss.
    """

    def __init__(self, loss_id: LossId, modules: Sequence[nn.Module]) -> None:
        super().__init__(_no_kernel)
        self.loss_id = loss_id
        self.members = nn.ModuleList(modules)

    def forward(self, output: Tensor, target: Tensor, rows: int | None = None) -> Tensor:
        """Each member's mean loss (G,); arguments as ``StackedLoss.forward`` takes them."""
        rows = output.shape[1] if rows is None else rows
        target = target[:rows]
        losses = []
        for member, module in enumerate(self.members):
            loss = module(output[member, :rows], target)
            if loss.ndim != 0:
                raise UsageError(
                    f"registered loss {self.loss_id.value!r}: its module returned shape "
                    f"{tuple(loss.shape)}; forward(output, target) must return the scalar mean"
                )
            losses.append(loss)
        return torch.stack(losses)


def _per_member(values: Sequence[float], *, ndim: int = 2) -> Tensor:
    """One value per member, shaped (G, 1, ...) to broadcast over (G, N, ...)."""
    return torch.tensor(values, dtype=torch.float32).reshape(-1, *([1] * (ndim - 1)))


def _float(params: _Params, name: str) -> float:
    value = params[name]
    assert value is not None, f"{name} is resolved before the factory runs"
    return value


def _column(output: Tensor) -> Tensor:
    """A single-output head (G, N, 1) as (G, N): a view, whose backward is a view too."""
    return output.squeeze(-1)


def _class_nll(output: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    """log-softmax (G, N, C) and each row's negative log-likelihood of its class (G, N)."""
    log_p = F.log_softmax(output, dim=-1)
    index = target.reshape(1, -1, 1).expand(output.shape[0], -1, 1)
    return log_p, -log_p.gather(-1, index).squeeze(-1)


# --------------------------------------------------------------------------- regression


def _mse(output: Tensor, target: Tensor) -> Tensor:
    column = _column(output)
    return F.mse_loss(column, target.expand_as(column), reduction="none")


def _mae(output: Tensor, target: Tensor) -> Tensor:
    return (_column(output) - target).abs()  # what F.l1_loss computes, less its size checks


def _huber(output: Tensor, target: Tensor, *, delta: Tensor) -> Tensor:
    """``torch.nn.HuberLoss`` (whose delta is one float for the whole call) as m * (z - m / 2)
    with m = min(z, delta): z^2 / 2 below delta, delta * (z - delta / 2) above, in 6 ops."""
    error = (_column(output) - target).abs()
    inner = error.clamp(max=delta)
    return inner * (error - 0.5 * inner)


def _log_cosh(output: Tensor, target: Tensor) -> Tensor:
    return formula.log_cosh(_column(output) - target)


def _pinball(output: Tensor, target: Tensor, *, q: Tensor) -> Tensor:
    return formula.pinball(target - _column(output), q)


def _poisson(output: Tensor, target: Tensor) -> Tensor:
    column = _column(output)
    target = target.expand_as(column)
    return F.poisson_nll_loss(column, target, log_input=True, full=False, reduction="none")


def _gamma(output: Tensor, target: Tensor) -> Tensor:
    return formula.gamma_deviance(_column(output), target)


def _tweedie(output: Tensor, target: Tensor, *, power: Tensor) -> Tensor:
    return formula.tweedie_deviance(_column(output), target, power)


def _gaussian_nll(output: Tensor, target: Tensor) -> Tensor:
    variance = formula.gaussian_variance(output[..., 1])
    mean = output[..., 0]
    return F.gaussian_nll_loss(
        mean, target.expand_as(mean), variance, full=False, eps=1e-6, reduction="none"
    )


# --------------------------------------------------------------------------- binary, multilabel


def _logits(output: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    """A one-logit head against a (N,) target, or L label logits against a (N, L) one."""
    logits = _column(output) if target.ndim == 1 else output
    return logits, target.expand_as(logits)


def _bce(output: Tensor, target: Tensor, *, pos_weight: Tensor | None = None) -> Tensor:
    logits, target = _logits(output, target)
    return F.binary_cross_entropy_with_logits(
        logits, target, pos_weight=pos_weight, reduction="none"
    )


def _sigmoid_focal(
    output: Tensor, target: Tensor, *, gamma: Tensor, positive: Tensor, negative: Tensor
) -> Tensor:
    """``BinaryFocalLoss``; a member without alpha has weight 1 for positives and negatives."""
    logits, target = _logits(output, target)
    loss = formula.sigmoid_focal(logits, target, gamma)
    return formula.class_weighted(loss, target, positive, negative)


def _hinge(output: Tensor, target: Tensor) -> Tensor:
    return formula.hinge(_column(output), target)


def _squared_hinge(output: Tensor, target: Tensor) -> Tensor:
    return formula.squared_hinge(_column(output), target)


def _coral(output: Tensor, target: Tensor) -> Tensor:
    return _bce(output, formula.coral_levels(target, output))


# --------------------------------------------------------------------------- multiclass


def _ce(output: Tensor, target: Tensor) -> Tensor:
    return _class_nll(output, target)[1]


def _smoothed_ce(output: Tensor, target: Tensor, *, epsilon: Tensor) -> Tensor:
    """``CrossEntropyLoss(label_smoothing=eps)``: (1 - eps) * nll + eps * mean_c(-log p_c)."""
    log_p, nll = _class_nll(output, target)
    return (1.0 - epsilon) * nll - epsilon * log_p.mean(-1)


def _offset_ce(output: Tensor, target: Tensor, *, offset: Tensor) -> Tensor:
    return _ce(output + offset, target)


def _softmax_focal(output: Tensor, target: Tensor, *, gamma: Tensor) -> Tensor:
    return formula.softmax_focal(_class_nll(output, target)[1], gamma)


def _multi_margin(output: Tensor, target: Tensor, *, margin: Tensor) -> Tensor:
    """``MultiMarginLoss``: sum over c != y of max(0, margin - x_y + x_c), divided by C."""
    index = target.reshape(1, -1, 1).expand(output.shape[0], -1, 1)
    violation = (margin - output.gather(-1, index) + output).clamp(min=0.0)
    others = violation.scatter(-1, index, 0.0)
    return others.sum(-1) / output.shape[-1]


def _soft_ce(output: Tensor, target: Tensor) -> Tensor:
    return -(target * F.log_softmax(output, dim=-1)).sum(-1)


# --------------------------------------------------------------------------- factories


def _focal(params: list[_Params], context: LossContext) -> StackedLoss:
    gamma = [_float(p, "gamma") for p in params]
    if context.n_outputs_classes != 2:  # build_loss has rejected an alpha here
        return StackedLoss(_softmax_focal, gamma=_per_member(gamma))
    return _label_focal(params, ndim=2)


def _label_focal(params: list[_Params], *, ndim: int) -> StackedLoss:
    alpha = [p["alpha"] for p in params]
    return StackedLoss(
        _sigmoid_focal,
        gamma=_per_member([_float(p, "gamma") for p in params], ndim=ndim),
        positive=_per_member([1.0 if a is None else a for a in alpha], ndim=ndim),
        negative=_per_member([1.0 if a is None else 1.0 - a for a in alpha], ndim=ndim),
    )


def _class_weights(values: Sequence[float] | Sequence[tuple[float, ...]]) -> Tensor:
    return torch.tensor(values, dtype=torch.float32)


_Factory = Callable[[list[_Params], LossContext], StackedLoss]

_FACTORIES: dict[LossId, _Factory] = {
    LossId.MSE: lambda p, c: StackedLoss(_mse),
    LossId.MAE: lambda p, c: StackedLoss(_mae),
    LossId.HUBER: lambda p, c: StackedLoss(
        _huber, delta=_per_member([_float(m, "delta") / c.target_scale for m in p])
    ),
    LossId.LOG_COSH: lambda p, c: StackedLoss(_log_cosh),
    LossId.QUANTILE: lambda p, c: StackedLoss(_pinball, q=_per_member([_float(m, "q") for m in p])),
    LossId.POISSON: lambda p, c: StackedLoss(_poisson),
    LossId.GAMMA: lambda p, c: StackedLoss(_gamma),
    LossId.TWEEDIE: lambda p, c: StackedLoss(
        _tweedie, power=_per_member([_float(m, "power") for m in p])
    ),
    LossId.MSLE: lambda p, c: StackedLoss(_mse),
    LossId.GAUSSIAN_NLL: lambda p, c: StackedLoss(_gaussian_nll),
    LossId.BCE: lambda p, c: StackedLoss(_bce),
    LossId.BCE_WEIGHTED: lambda p, c: StackedLoss(
        _bce, pos_weight=_per_member([_float(m, "pos_weight") for m in p])
    ),
    LossId.FOCAL: _focal,
    LossId.HINGE: lambda p, c: StackedLoss(_hinge),
    LossId.SQUARED_HINGE: lambda p, c: StackedLoss(_squared_hinge),
    LossId.CE: lambda p, c: StackedLoss(_ce),
    LossId.CE_WEIGHTED: lambda p, c: StackedLoss(
        _ce, class_weight=_class_weights([inverse_frequency_weights(c)] * len(p))
    ),
    LossId.CE_CLASS_BALANCED: lambda p, c: StackedLoss(
        _ce,
        class_weight=_class_weights([class_balanced_weights(c, beta=_float(m, "beta")) for m in p]),
    ),
    LossId.CE_LABEL_SMOOTHING: lambda p, c: StackedLoss(
        _smoothed_ce, epsilon=_per_member([_float(m, "epsilon") for m in p])
    ),
    LossId.LOGIT_ADJUSTED: lambda p, c: StackedLoss(
        _offset_ce,
        offset=formula.logit_offset(
            torch.tensor(log_prior(c), dtype=torch.float32),
            _per_member([_float(m, "tau") for m in p], ndim=3),
        ),
    ),
    LossId.MULTI_MARGIN: lambda p, c: StackedLoss(
        _multi_margin, margin=_per_member([_float(m, "margin") for m in p], ndim=3)
    ),
    LossId.SOFT_CE: lambda p, c: StackedLoss(_soft_ce),
    LossId.MULTILABEL_BCE: lambda p, c: StackedLoss(_bce),
    LossId.MULTILABEL_BCE_WEIGHTED: lambda p, c: StackedLoss(
        _bce, pos_weight=_class_weights(pos_weights(c, LossId.MULTILABEL_BCE_WEIGHTED))
    ),
    LossId.MULTILABEL_FOCAL: lambda p, c: _label_focal(p, ndim=3),
    LossId.ORDINAL_CORAL: lambda p, c: StackedLoss(_coral),
}


def stacked_loss(
    loss_id: LossId | str,
    params_per_member: Sequence[Mapping[str, float | None] | None],
    *,
    context: LossContext,
) -> StackedLoss:
    """Build one module that computes the loss of G members of one loss id at once.

    Args:
        loss_id: The loss every member trains with.
        params_per_member: Each member's hyper-parameters, as ``build_loss`` takes them.
        context: The context ``build_loss`` gets (the members share the training target).

    Returns:
        A module whose ``forward(output, target)`` takes the members' head outputs stacked as
        (G, N, out_dim) and the encoded target, and returns each member's mean loss (G,):
        the loss's stacked kernel, or ``EachMember`` for a registered loss.

    Raises:
        UsageError: No members, or exactly when ``build_loss`` raises for one of them.
    """
    spec = get_loss(loss_id)
    if not params_per_member:
        raise UsageError(f"stacked_loss({spec.id.value!r}) needs at least one member; got none")
    resolved, modules = [], []
    for params in params_per_member:
        # same checks, same errors as one member
        modules.append(build_loss(spec.id, params, context=context))
        resolved.append(resolve_params(spec.id, params or {}, context=context))
    factory = _FACTORIES.get(spec.id)
    if factory is None:
        return EachMember(spec.id, modules)
    return factory(resolved, context)
