"""Copy-pasteable PyTorch code for a recommended loss, with its parameters written out.

Each snippet needs nothing but ``import torch``, defines ``loss_fn(output, target)``, says in a
comment what the last layer must output and how the target is encoded, and computes exactly
what ``build_loss`` computes (class weights are the same rounded literals in both).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from advisor.losses._build import build_loss
from advisor.losses._catalog import HeadKind, TargetKind, get_loss
from advisor.losses._context import (
    LossContext,
    class_balanced_weights,
    inverse_frequency_weights,
    log_prior,
    pos_weights,
    resolve_params,
)
from advisor.losses._formulas import LOG_VAR_BOUND
from advisor.losses._registry import snippet
from advisor.losses._targets import output_size
from advisor.records import LossId

__all__ = ["pytorch_snippet"]

_Params = dict[str, float | None]

_HEADS = {
    HeadKind.SCORE: "one raw score per row (no activation)",
    HeadKind.LOG_MEAN: "the log of the predicted mean (no activation; mean = exp(output))",
    HeadKind.MEAN_VAR: "[mean, log-variance] per row (no activation)",
    HeadKind.LOGIT: "one raw logit (no sigmoid)",
    HeadKind.LOGITS: "raw logits (no softmax)",
    HeadKind.CUMULATIVE_LOGITS: "raw cumulative logits of P(y > k) (no sigmoid)",
    HeadKind.LABEL_LOGITS: "one raw logit per label (no sigmoid)",
}

_TARGETS = {
    TargetKind.STANDARDIZE: "(y - median(y)) / {scale}, float, shape (N,)",
    TargetKind.MEAN_SCALE: "y / mean(y), float, shape (N,)",
    TargetKind.LOG1P_STANDARDIZE: "(log1p(y) - median) / (1.4826 * MAD) of log1p(y), float, (N,)",
    TargetKind.CLASS_INDEX: "class indices 0..{last}, torch.long, shape (N,)",
    TargetKind.BINARY01: "0/1 floats or probabilities in [0, 1], shape (N,)",
    TargetKind.PLUS_MINUS_ONE: "-1/+1 floats, shape (N,)",
    TargetKind.PROBABILITIES: "class probabilities (rows sum to 1), float, shape (N, {n})",
    TargetKind.INDICATORS: "0/1 label indicators, float, shape (N, {n})",
}


def _float(value: float | None) -> float:
    assert value is not None, "resolved before the snippet is written"
    return value


def _tensor(values: tuple[float, ...]) -> str:
    return "torch.tensor([" + ", ".join(repr(v) for v in values) + "])"


def _wrap(criterion: str) -> str:
    """A built-in elementwise loss applied to a single-output head, flattened to (N,)."""
    return (
        f"criterion = {criterion}\n\n\n"
        "def loss_fn(output, target):\n"
        "    return criterion(output.squeeze(-1), target)\n"
    )


def _focal(p: _Params, c: LossContext, *, multilabel: bool = False) -> str:
    gamma, alpha = p["gamma"], p["alpha"]
    if not multilabel and c.n_outputs_classes != 2:
        return (
            f"gamma = {gamma!r}\n\n\n"
            "def loss_fn(output, target):\n"
            '    ce = torch.nn.functional.cross_entropy(output, target, reduction="none")\n'
            "    return ((1.0 - torch.exp(-ce)) ** gamma * ce).mean()\n"
        )
    logits = "output" if multilabel else "output.squeeze(-1)"
    weight = (
        "    loss = (alpha * target + (1.0 - alpha) * (1.0 - target)) * loss\n"
        if alpha is not None
        else ""
    )
    return (
        f"gamma, alpha = {gamma!r}, {alpha!r}\n\n\n"
        "def loss_fn(output, target):\n"
        f"    logits = {logits}\n"
        "    ce = torch.nn.functional.binary_cross_entropy_with_logits(\n"
        '        logits, target, reduction="none"\n'
        "    )\n"
        "    p = torch.sigmoid(logits)\n"
        "    p_true = p * target + (1.0 - p) * (1.0 - target)\n"
        "    loss = (1.0 - p_true) ** gamma * ce\n"
        f"{weight}"
        "    return loss.mean()\n"
    )


def _hinge(power: str) -> str:
    return (
        "def loss_fn(output, target):\n"
        f"    return (1.0 - target * output.squeeze(-1)).clamp(min=0.0){power}.mean()\n"
    )


_BODIES: dict[LossId, Callable[[_Params, LossContext], str]] = {
    LossId.MSE: lambda p, c: _wrap("torch.nn.MSELoss()"),
    LossId.MAE: lambda p, c: _wrap("torch.nn.L1Loss()"),
    LossId.HUBER: lambda p, c: (
        f"# delta = {p['delta']:.6g} in target units / {c.target_scale:.6g} (the target's scale)\n"
        + _wrap(f"torch.nn.HuberLoss(delta={_float(p['delta']) / c.target_scale!r})")
    ),
    LossId.LOG_COSH: lambda p, c: (
        "def loss_fn(output, target):\n"
        "    error = output.squeeze(-1) - target\n"
        "    # log(cosh(x)) = x + softplus(-2x) - log(2), finite for any x\n"
        "    return (error + torch.nn.functional.softplus(-2.0 * error)"
        " - 0.6931471805599453).mean()\n"
    ),
    LossId.QUANTILE: lambda p, c: (
        f"q = {p['q']!r}\n\n\n"
        "def loss_fn(output, target):\n"
        "    error = target - output.squeeze(-1)\n"
        "    return torch.maximum(q * error, (q - 1.0) * error).mean()\n"
    ),
    LossId.POISSON: lambda p, c: _wrap("torch.nn.PoissonNLLLoss(log_input=True, full=False)"),
    LossId.GAMMA: lambda p, c: (
        "def loss_fn(output, target):  # half the Gamma deviance, log link\n"
        "    log_mu = output.squeeze(-1)\n"
        "    return (target * torch.exp(-log_mu) - torch.log(target) + log_mu - 1.0).mean()\n"
    ),
    LossId.TWEEDIE: lambda p, c: (
        f"p = {p['power']!r}\n\n\n"
        "def loss_fn(output, target):  # half the Tweedie deviance, log link\n"
        "    log_mu = output.squeeze(-1)\n"
        "    y_only = target.clamp(min=0.0).pow(2.0 - p) / ((1.0 - p) * (2.0 - p))\n"
        "    cross = target * torch.exp((1.0 - p) * log_mu) / (1.0 - p)\n"
        "    return (y_only - cross + torch.exp((2.0 - p) * log_mu) / (2.0 - p)).mean()\n"
    ),
    LossId.MSLE: lambda p, c: _wrap("torch.nn.MSELoss()"),
    LossId.GAUSSIAN_NLL: lambda p, c: (
        "criterion = torch.nn.GaussianNLLLoss(full=False, eps=1e-6)\n\n\n"
        "def loss_fn(output, target):\n"
        f"    variance = torch.exp(output[:, 1].clamp({-LOG_VAR_BOUND!r}, {LOG_VAR_BOUND!r}))\n"
        "    return criterion(output[:, 0], target, variance)\n"
    ),
    LossId.BCE: lambda p, c: _wrap("torch.nn.BCEWithLogitsLoss()"),
    LossId.BCE_WEIGHTED: lambda p, c: _wrap(
        f"torch.nn.BCEWithLogitsLoss(pos_weight={_tensor((p['pos_weight'],))})"  # type: ignore[arg-type]
    ),
    LossId.FOCAL: _focal,
    LossId.HINGE: lambda p, c: _hinge(""),
    LossId.SQUARED_HINGE: lambda p, c: _hinge(".square()"),
    LossId.CE: lambda p, c: "loss_fn = torch.nn.CrossEntropyLoss()\n",
    LossId.CE_WEIGHTED: lambda p, c: (
        "# weights: inverse class frequency, normalised to sum to the number of classes\n"
        f"loss_fn = torch.nn.CrossEntropyLoss(weight={_tensor(inverse_frequency_weights(c))})\n"
    ),
    LossId.CE_CLASS_BALANCED: lambda p, c: (
        f"# weights: (1 - beta) / (1 - beta**n_c), beta={p['beta']!r} (Cui et al. 2019)\n"
        "loss_fn = torch.nn.CrossEntropyLoss(\n"
        f"    weight={_tensor(class_balanced_weights(c, beta=p['beta']))}\n"  # type: ignore[arg-type]
        ")\n"
    ),
    LossId.CE_LABEL_SMOOTHING: lambda p, c: (
        f"loss_fn = torch.nn.CrossEntropyLoss(label_smoothing={p['epsilon']!r})\n"
    ),
    LossId.LOGIT_ADJUSTED: lambda p, c: (
        f"log_prior = {_tensor(log_prior(c))}  # log of the training class frequencies\n"
        f"tau = {p['tau']!r}\n\n\n"
        "def loss_fn(output, target):  # predict with the raw logits (no prior added)\n"
        "    return torch.nn.functional.cross_entropy(output + tau * log_prior, target)\n"
    ),
    LossId.MULTI_MARGIN: lambda p, c: (
        f"loss_fn = torch.nn.MultiMarginLoss(margin={p['margin']!r})\n"
    ),
    LossId.SOFT_CE: lambda p, c: "loss_fn = torch.nn.CrossEntropyLoss()  # probability targets\n",
    LossId.MULTILABEL_BCE: lambda p, c: "loss_fn = torch.nn.BCEWithLogitsLoss()\n",
    LossId.MULTILABEL_BCE_WEIGHTED: lambda p, c: (
        "# pos_weight per label: negatives / positives\n"
        "loss_fn = torch.nn.BCEWithLogitsLoss(\n"
        f"    pos_weight={_tensor(pos_weights(c, LossId.MULTILABEL_BCE_WEIGHTED))}\n"
        ")\n"
    ),
    LossId.MULTILABEL_FOCAL: lambda p, c: _focal(p, c, multilabel=True),
    LossId.ORDINAL_CORAL: lambda p, c: (
        "def loss_fn(output, target):  # CORAL: mean BCE of each logit against 1[y > k]\n"
        "    levels = (target.reshape(-1, 1) > torch.arange(output.shape[1])).float()\n"
        "    return torch.nn.functional.binary_cross_entropy_with_logits(output, levels)\n"
    ),
}


def pytorch_snippet(
    loss_id: LossId | str,
    params: Mapping[str, float | None] | None = None,
    *,
    context: LossContext,
) -> str:
    """Return self-contained PyTorch code defining ``loss_fn(output, target)`` for a loss.

    Args:
        loss_id: The loss.
        params: Hyper-parameters as given to ``build_loss`` (original units).
        context: The same context ``build_loss`` gets; weights are written as literals.

    Raises:
        UsageError: Exactly when ``build_loss`` raises it.
    """
    spec = get_loss(loss_id)
    build_loss(spec.id, params, context=context)  # same checks, same errors as training
    resolved = resolve_params(spec.id, params or {}, context=context)
    n = context.n_outputs_classes
    head, kind = spec.form(n)
    target = _TARGETS[kind].format(scale=f"{context.target_scale:.6g}", last=n - 1, n=n)
    comment = f"# model outputs {_HEADS[head]}, shape (N, {output_size(spec.id, n)}); "
    body = _BODIES.get(spec.id)
    code = body(resolved, context) if body else snippet(spec.id, resolved, context=context)
    return f"import torch\n\n{comment}target: {target}\n{code}"
