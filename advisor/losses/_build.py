"""``build_loss``: a loss id and its parameters in, a ready ``torch.nn.Module`` out.

Torch built-ins are used wherever they exist (MSE, L1, Huber, PoissonNLL, GaussianNLL,
BCEWithLogits, CrossEntropy, MultiMargin); ``_functions`` holds only what torch lacks. A
registered loss (``advisor.losses.register``) is built by calling its own module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
from torch import nn

from advisor.errors import UsageError
from advisor.losses._catalog import get_loss
from advisor.losses._context import (
    LossContext,
    class_balanced_weights,
    inverse_frequency_weights,
    log_prior,
    pos_weights,
    resolve_params,
)
from advisor.losses._functions import (
    BinaryFocalLoss,
    CoralLoss,
    FirstColumn,
    GammaDevianceLoss,
    GaussianNLLHead,
    HingeLoss,
    LogCoshLoss,
    LogitAdjustedLoss,
    MulticlassFocalLoss,
    PinballLoss,
    TweedieDevianceLoss,
)
from advisor.losses._registry import custom_loss
from advisor.records import LossId

__all__ = ["build_loss"]

_Params = dict[str, float | None]
_Factory = Callable[[_Params, LossContext], nn.Module]


def _tensor(values: tuple[float, ...]) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float32)


def _float(params: _Params, name: str) -> float:
    value = params[name]
    assert value is not None, f"{name} is resolved before the factory runs"
    return value


def _focal(params: _Params, context: LossContext) -> nn.Module:
    gamma, alpha = _float(params, "gamma"), params["alpha"]
    if context.n_outputs_classes == 2:
        return BinaryFocalLoss(gamma=gamma, alpha=alpha)
    if alpha is not None:
        raise UsageError(
            f"focal alpha={alpha!r} is defined for binary targets only, got "
            f"{context.n_outputs_classes} classes; drop alpha or use ce_class_balanced"
        )
    return MulticlassFocalLoss(gamma=gamma)


_FACTORIES: dict[LossId, _Factory] = {
    LossId.MSE: lambda p, c: FirstColumn(nn.MSELoss()),
    LossId.MAE: lambda p, c: FirstColumn(nn.L1Loss()),
    LossId.HUBER: lambda p, c: FirstColumn(nn.HuberLoss(delta=_float(p, "delta") / c.target_scale)),
    LossId.LOG_COSH: lambda p, c: LogCoshLoss(),
    LossId.QUANTILE: lambda p, c: PinballLoss(_float(p, "q")),
    LossId.POISSON: lambda p, c: FirstColumn(nn.PoissonNLLLoss(log_input=True, full=False)),
    LossId.GAMMA: lambda p, c: GammaDevianceLoss(),
    LossId.TWEEDIE: lambda p, c: TweedieDevianceLoss(_float(p, "power")),
    LossId.MSLE: lambda p, c: FirstColumn(nn.MSELoss()),
    LossId.GAUSSIAN_NLL: lambda p, c: GaussianNLLHead(),
    LossId.BCE: lambda p, c: FirstColumn(nn.BCEWithLogitsLoss()),
    LossId.BCE_WEIGHTED: lambda p, c: FirstColumn(
        nn.BCEWithLogitsLoss(pos_weight=_tensor((_float(p, "pos_weight"),)))
    ),
    LossId.FOCAL: _focal,
    LossId.HINGE: lambda p, c: HingeLoss(),
    LossId.SQUARED_HINGE: lambda p, c: HingeLoss(squared=True),
    LossId.CE: lambda p, c: nn.CrossEntropyLoss(),
    LossId.CE_WEIGHTED: lambda p, c: nn.CrossEntropyLoss(
        weight=_tensor(inverse_frequency_weights(c))
    ),
    LossId.CE_CLASS_BALANCED: lambda p, c: nn.CrossEntropyLoss(
        weight=_tensor(class_balanced_weights(c, beta=_float(p, "beta")))
    ),
    LossId.CE_LABEL_SMOOTHING: lambda p, c: nn.CrossEntropyLoss(
        label_smoothing=_float(p, "epsilon")
    ),
    LossId.LOGIT_ADJUSTED: lambda p, c: LogitAdjustedLoss(
        _tensor(log_prior(c)), tau=_float(p, "tau")
    ),
    LossId.MULTI_MARGIN: lambda p, c: nn.MultiMarginLoss(margin=_float(p, "margin")),
    LossId.SOFT_CE: lambda p, c: nn.CrossEntropyLoss(),
    LossId.MULTILABEL_BCE: lambda p, c: nn.BCEWithLogitsLoss(),
    LossId.MULTILABEL_BCE_WEIGHTED: lambda p, c: nn.BCEWithLogitsLoss(
        pos_weight=_tensor(pos_weights(c, LossId.MULTILABEL_BCE_WEIGHTED))
    ),
    LossId.MULTILABEL_FOCAL: lambda p, c: BinaryFocalLoss(
        gamma=_float(p, "gamma"), alpha=p["alpha"]
    ),
    LossId.ORDINAL_CORAL: lambda p, c: CoralLoss(),
}


def build_loss(
    loss_id: LossId | str,
    params: Mapping[str, float | None] | None = None,
    *,
    context: LossContext,
) -> nn.Module:
    """Build the torch loss module for one catalog loss.

    Args:
        loss_id: The loss.
        params: Hyper-parameters; missing ones take the catalog defaults. Huber's delta is in
            the target's ORIGINAL units (divided by ``context.target_scale`` here).
        context: Class counts, class count and target scale the loss depends on.

    Returns:
        A module whose ``forward(output, target)`` takes the head output (N, out_dim) and the
        encoded target, and returns the scalar mean loss.

    Raises:
        UsageError: Unknown loss id or parameter, a value where the loss is undefined, a
            weighted loss without ``context.class_counts``, or a registered loss whose module
            rejects its parameters or is not a ``torch.nn.Module``.
    """
    spec = get_loss(loss_id)
    resolved = resolve_params(spec.id, params or {}, context=context)
    factory = _FACTORIES.get(spec.id)
    if factory is None:
        return _build_registered(spec.id, resolved, context)
    return factory(resolved, context)


def _build_registered(loss_id: LossId, params: _Params, context: LossContext) -> nn.Module:
    custom = custom_loss(loss_id)
    assert custom is not None, f"{loss_id.value} is in the catalog, so built in or registered"
    arguments: dict[str, object] = dict(params)
    if custom.takes_context:
        arguments["context"] = context
    shown = ", ".join(f"{name}={value!r}" for name, value in params.items())
    try:
        module = custom.module(**arguments)
    except (TypeError, ValueError) as error:
        raise UsageError(
            f"registered loss {loss_id.value!r}: {custom.name}({shown}) failed: {error}"
        ) from error
    if not isinstance(module, nn.Module):
        raise UsageError(
            f"registered loss {loss_id.value!r}: {custom.name}({shown}) returned a "
            f"{type(module).__name__}, expected a torch.nn.Module"
        )
    return module
