"""The loss catalog: for each SPEC loss id, its metadata, torch module, target encoding and code.

- ``load_catalog`` / ``get_loss`` / ``losses_for``: metadata read from ``rules/losses.yaml``.
- ``build_loss``: the ``torch.nn.Module`` that trains with a loss and its parameters.
- ``stacked_loss``: one module for G members of one loss id, each with its own parameters.
- ``fit_target`` / ``output_size``: how the target is encoded and how wide the head is.
- ``pytorch_snippet``: copy-pasteable code for the recommendation.

This package imports torch at module level; import it lazily from the CLI.
"""

from __future__ import annotations

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
from advisor.losses._snippet import pytorch_snippet
from advisor.losses._stacked import StackedLoss, padded_rows, stacked_loss
from advisor.losses._targets import TargetTransform, fit_target, output_size

__all__ = [
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
    "resolve_params",
    "robust_center_scale",
    "stacked_loss",
]
