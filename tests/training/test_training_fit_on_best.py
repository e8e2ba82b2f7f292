"""fit_short/fit_splits ``on_best``: a member's prediction on other rows at its best step."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from advisor.records import LossId, MetricId, Task
from advisor.training import FitSettings, MemberSpec, TrainingData, fit_short, fit_splits

SETTINGS = FitSettings(max_steps=60, batch_size=32, eval_every=10, patience=1)


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _data(seed: int, columns: int = 4) -> TrainingData:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(160, columns)).astype(np.float32)
    y = x[:, 0] - 2.0 * x[:, 1] + rng.normal(scale=0.3, size=160)
    return TrainingData(x_train=x[:120], y_train=y[:120], x_val=x[120:], y_val=y[120:],
                        task=Task.REGRESSION, n_classes=0, metric=MetricId.MAE)


MEMBERS = [
    MemberSpec(loss=LossId.MSE, params={}, lr=1e-2, seed=0),
    MemberSpec(loss=LossId.QUANTILE, params={"q": 0.8}, lr=3e-3, seed=1),
    MemberSpec(loss=LossId.MAE, params={}, lr=1e30, seed=2),  # NaN at once: never improves
]


def test_predicting_the_validation_rows_gives_the_best_prediction() -> None:
    data = _data(0)
    calls: list[tuple[int, np.ndarray]] = []
    results = fit_short(MEMBERS, data, settings=SETTINGS, data_seed=3,
                        on_best=lambda member, predict: calls.append((member, predict(data.x_val))))
    for index, result in enumerate(results[:2]):
        mine = [prediction for member, prediction in calls if member == index]
        # called at every improvement, the last of them at the best step
        improvements = sum(
            1 for k, (_, score) in enumerate(result.history)
            if all(score < before for _, before in result.history[:k])
        )
        assert len(mine) == improvements >= 1
        np.testing.assert_array_equal(mine[-1], result.prediction)
    assert math.isnan(results[2].score) and all(member != 2 for member, _ in calls)


def test_splits_pass_flat_indices_and_pad_each_split_features() -> None:
    wide, narrow = _data(1), _data(2, columns=3)
    seen: dict[int, np.ndarray] = {}
    splits = [wide, narrow]

    def on_best(member: int, predict) -> None:
        seen[member] = predict(splits[member // 2].x_val)

    together = fit_splits([MEMBERS[:2], MEMBERS[:2]], splits, settings=SETTINGS,
                          data_seeds=[0, 1], on_best=on_best)
    for split, results in enumerate(together):
        for index, result in enumerate(results):
            np.testing.assert_array_equal(seen[2 * split + index], result.prediction)
