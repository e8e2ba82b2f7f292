"""LossAdvisor follows scikit-learn's estimator contract."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from advisor.sklearn import LossAdvisor


def test_init_only_stores_and_clone_round_trips():
    advisor = LossAdvisor(objective="robust", budget_s=5.0, seed=3)
    assert advisor.get_params()["objective"] == "robust"
    assert clone(advisor).get_params() == advisor.get_params()


def test_build_loss_before_fit_raises():
    with pytest.raises(NotFittedError):
        LossAdvisor().build_loss()


def test_rules_only_fit_on_imbalanced_classes_builds_a_weighted_loss():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(400, 4)), columns=list("abcd"))
    y = np.where(rng.random(400) < 0.1, "yes", "no")
    fitted = LossAdvisor(search=False).fit(X, y)
    assert fitted.advice_.profile.task.value == "binary"
    assert fitted.loss_ in {"bce_weighted", "focal"}
    module = fitted.build_loss()
    assert isinstance(module, torch.nn.Module)
    value = module(torch.zeros(8, 1), torch.tensor([0.0, 1.0] * 4))
    assert torch.isfinite(value)


@pytest.mark.slow
def test_fit_with_search_confirms_between_candidates():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 3))
    y = X[:, 0] * 2 + rng.normal(scale=0.2, size=300)
    fitted = LossAdvisor(budget_s=6.0, trials=4).fit(X, y)
    assert fitted.advice_.search is not None
    assert fitted.loss_ in {r.loss.value for r in fitted.advice_.search.results}
    assert 0.0 <= fitted.confidence_ <= 1.0
