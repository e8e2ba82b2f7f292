"""FitSettings(keep_model=True): each member's network at its best step, for later prediction."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from advisor.losses import build_context, fit_target
from advisor.records import LossId, MetricId, Task
from advisor.training import FitSettings, MemberSpec, TrainingData, fit_short
from advisor.training._scorer import ValidationScorer

SETTINGS = FitSettings(max_steps=80, batch_size=64, eval_every=10, patience=100, keep_model=True)


def _binary(n: int = 240) -> TrainingData:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    y = (x[:, 0] - x[:, 1] + rng.normal(scale=0.5, size=n) > 0).astype(np.int64)
    return TrainingData(
        x_train=x[:180],
        y_train=y[:180],
        x_val=x[180:],
        y_val=y[180:],
        task=Task.BINARY,
        n_classes=2,
        metric=MetricId.ROC_AUC,
    )


@pytest.mark.parametrize("members", [1, 3])
def test_kept_model_reproduces_the_best_validation_score(members: int) -> None:
    data = _binary()
    specs = [
        MemberSpec(loss=loss, params={}, lr=1e-2, seed=s)
        for s, loss in enumerate([LossId.BCE, LossId.CE, LossId.HINGE][:members])
    ]
    results = fit_short(specs, data, settings=SETTINGS)
    context = build_context(data.y_train, task=data.task, n_classes=2)
    scorer = ValidationScorer(data.metric, data.y_val, task=data.task, n_classes=2)
    for spec, result in zip(specs, results, strict=True):
        assert isinstance(result.model, torch.nn.Module) and not result.model.training
        transform = fit_target(spec.loss, data.y_train, context=context)
        with torch.no_grad():
            output = result.model(torch.as_tensor(data.x_val))
        width = 2 if spec.loss is LossId.CE else 1
        score = scorer(transform.predict(output[:, :width]))
        assert score == pytest.approx(result.score, abs=1e-6)


def test_no_model_is_kept_unless_asked() -> None:
    settings = FitSettings(max_steps=20, batch_size=64, eval_every=10)
    (result,) = fit_short([MemberSpec(loss=LossId.BCE, params={})], _binary(), settings=settings)
    assert result.model is None
