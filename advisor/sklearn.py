"""A scikit-learn estimator around ``recommend``, for pipelines and AutoML loops.

``LossAdvisor().fit(X, y)`` profiles the data, shortlists by rules and confirms by short runs;
the chosen loss is then in ``loss_`` and ``build_loss()`` returns the torch module to train
with. It follows scikit-learn's contract: ``__init__`` only stores, learned state ends in ``_``
and reading it before ``fit`` raises ``NotFittedError``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from advisor.records import Advice

__all__ = ["LossAdvisor"]


class LossAdvisor(BaseEstimator):
    """Recommend a loss for (X, y).

    Example:
        >>> import numpy as np
        >>> X = np.random.default_rng(0).normal(size=(120, 3))
        >>> y = X[:, 0] + 0.1 * np.random.default_rng(1).normal(size=120)
        >>> LossAdvisor(search=False).fit(X, y).loss_ in {"mse", "huber", "log_cosh", "mae"}
        True
    """

    def __init__(
        self,
        *,
        task: str | None = None,
        objective: str = "auto",
        metric: str | None = None,
        search: bool = True,
        budget_s: float = 60.0,
        trials: int | None = None,
        seed: int = 0,
        device: str = "cpu",
    ) -> None:
        self.task = task
        self.objective = objective
        self.metric = metric
        self.search = search
        self.budget_s = budget_s
        self.trials = trials
        self.seed = seed
        self.device = device

    def fit(self, X: Any, y: Any) -> LossAdvisor:
        from advisor._recommend import recommend

        features = (
            X
            if isinstance(X, pd.DataFrame)
            else pd.DataFrame(
                np.asarray(X), columns=[f"x{i}" for i in range(np.asarray(X).shape[1])]
            )
        )
        labels = (
            y
            if isinstance(y, pd.DataFrame)
            else pd.DataFrame(
                {"target": np.asarray(y)}
                if np.asarray(y).ndim == 1
                else {f"target_{i}": col for i, col in enumerate(np.asarray(y).T)}
            )
        )
        frame = pd.concat([features.reset_index(drop=True), labels.reset_index(drop=True)], axis=1)
        self.advice_: Advice = recommend(
            frame,
            target=list(labels.columns),
            task=self.task,
            objective=self.objective,
            metric=self.metric,
            search=self.search,
            budget_s=self.budget_s,
            trials=self.trials,
            seed=self.seed,
            device=self.device,
        )
        self.loss_ = self.advice_.recommendation.loss.value
        self.params_ = dict(self.advice_.recommendation.params)
        self.confidence_ = self.advice_.recommendation.confidence
        self._labels = labels
        return self

    def build_loss(self):
        """The recommended loss as a ``torch.nn.Module`` (with weights from the fitted data)."""
        check_is_fitted(self, "advice_")
        from advisor.losses import build_context, build_loss
        from advisor.profiling import split_xy

        profile = self.advice_.profile
        frame = self._labels.copy()
        _, target = split_xy(frame, profile)
        context = build_context(target, task=profile.task, n_classes=profile.n_classes or None)
        return build_loss(self.loss_, self.params_, context=context)
