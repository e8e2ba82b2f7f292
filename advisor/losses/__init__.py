"""The loss catalog: for each loss id, its metadata, torch module, target encoding and code.

- ``load_catalog`` / ``get_loss`` / ``losses_for``: metadata read from ``rules/losses.yaml``,
  plus the losses a team registers (``register``, or the ``lossadvisor.losses`` entry points).
- ``build_loss``: the ``torch.nn.Module`` that trains with a loss and its parameters.
- ``stacked_loss``: one module for G members of one loss id, each with its own parameters.
- ``fit_target`` / ``output_size``: how the target is encoded and how wide the head is.
- ``pytorch_snippet``: copy-pasteable code for the recommendation.

Names load lazily (PEP 562): the catalog, the registry and the data-derived weights import no
torch, so the rule engine and ``lossadvisor losses`` stay light; building, stacking, encoding
a target or printing the snippet imports it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from advisor.losses._build import build_loss
    from advisor.losses._catalog import (
        HeadKind,
        LossSpec,
        ParamSpec,
        TargetKind,
        get_loss,
        load_catalog,
        losses_for,
    )
    from advisor.losses._context import (
        LossContext,
        build_context,
        class_balanced_weights,
        inverse_frequency_weights,
        log_prior,
        pos_weights,
        resolve_params,
        robust_center_scale,
    )
    from advisor.losses._registry import ENTRY_POINT_GROUP, CustomLoss, register, unregister
    from advisor.losses._snippet import pytorch_snippet
    from advisor.losses._stacked import EachMember, StackedLoss, padded_rows, stacked_loss
    from advisor.losses._targets import TargetTransform, fit_target, output_size

_HOMES = {
    "advisor.losses._build": ("build_loss",),
    "advisor.losses._catalog": (
        "HeadKind",
        "LossSpec",
        "ParamSpec",
        "TargetKind",
        "get_loss",
        "load_catalog",
        "losses_for",
    ),
    "advisor.losses._context": (
        "LossContext",
        "build_context",
        "class_balanced_weights",
        "inverse_frequency_weights",
        "log_prior",
        "pos_weights",
        "resolve_params",
        "robust_center_scale",
    ),
    "advisor.losses._registry": ("ENTRY_POINT_GROUP", "CustomLoss", "register", "unregister"),
    "advisor.losses._snippet": ("pytorch_snippet",),
    "advisor.losses._stacked": ("EachMember", "StackedLoss", "padded_rows", "stacked_loss"),
    "advisor.losses._targets": ("TargetTransform", "fit_target", "output_size"),
}
_LAZY = {name: module for module, names in _HOMES.items() for name in names}

__all__ = [
    "CustomLoss",
    "EachMember",
    "ENTRY_POINT_GROUP",
    "HeadKind",
    "LossContext",
    "LossSpec",
    "ParamSpec",
    "StackedLoss",
    "TargetKind",
    "TargetTransform",
    "build_context",
    "build_loss",
    "class_balanced_weights",
    "fit_target",
    "get_loss",
    "inverse_frequency_weights",
    "load_catalog",
    "log_prior",
    "losses_for",
    "output_size",
    "padded_rows",
    "pos_weights",
    "pytorch_snippet",
    "register",
    "resolve_params",
    "robust_center_scale",
    "stacked_loss",
    "unregister",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'advisor.losses' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
