"""lossadvisor: which loss to train your network with on tabular data, why, and the evidence.

The four stages, each callable alone, on a CSV path, a DataFrame or ``X, y`` arrays::

    import advisor
    profile = advisor.profile("data.csv")                  # DataProfile
    listed = advisor.shortlist(profile)                     # Shortlist (rules)
    advice = advisor.recommend(X, y, budget_s=30)           # Advice: all stages, JSON via to_dict()

Names load lazily (PEP 562) so that importing the package does not import torch or optuna.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

__all__ = ["LossAdvisor", "confirm", "profile", "recommend", "shortlist"]

_LAZY = {
    "profile": "advisor._api",
    "shortlist": "advisor._api",
    "confirm": "advisor._api",
    "recommend": "advisor._api",
    "LossAdvisor": "advisor.sklearn",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'advisor' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*__all__, "__version__"])
