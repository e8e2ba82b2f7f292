"""Short PyTorch runs, batched over trials; knows nothing of Optuna."""

from advisor.training._encode import FeatureEncoder
from advisor.training._fit import (
    FitSettings,
    MemberResult,
    MemberSpec,
    TrainingData,
    fit_short,
    fit_splits,
)
from advisor.training._metrics import metric_applies, metric_direction, score_metric
from advisor.training._model import ModelFactory, StackedModel, default_mlp
from advisor.training._optim import StackedAdamW

__all__ = [
    "FeatureEncoder",
    "FitSettings",
    "MemberResult",
    "MemberSpec",
    "ModelFactory",
    "StackedAdamW",
    "StackedModel",
    "TrainingData",
    "default_mlp",
    "fit_short",
    "fit_splits",
    "metric_applies",
    "metric_direction",
    "score_metric",
]
