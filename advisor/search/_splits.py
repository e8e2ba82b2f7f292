"""Validation splits shared by every candidate, so that all losses are compared on the same rows.

Split 0 is for exploration (the Optuna study); splits 1..R confirm the finalists on rows the
exploration never chose a winner on, which keeps the winner's curse out of the comparison.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit

from advisor.profiling import split_xy
from advisor.records import DataProfile, MetricId, Shortlist, Task
from advisor.training import FeatureEncoder, TrainingData

__all__ = ["SplitMaker", "make_splits", "search_rows"]

VALIDATION_SHARE = 0.2
MAX_SEARCH_ROWS = 50_000
N_SPLITS = 11  # split 0 explores; up to 10 confirm


def search_rows(n_rows: int, *, seed: int) -> np.ndarray | None:
    """Rows kept for the search when the data is large (None: all of them)."""
    if n_rows <= MAX_SEARCH_ROWS:
        return None
    return np.sort(np.random.default_rng(seed).choice(n_rows, MAX_SEARCH_ROWS, replace=False))


@dataclasses.dataclass
class SplitMaker:
    """Builds (and caches) the encoded TrainingData of split ``i``."""

    features: pd.DataFrame
    target: np.ndarray
    profile: DataProfile
    metric: MetricId
    quantile: float
    seed: int
    n_splits: int
    _cache: dict[int, TrainingData] = dataclasses.field(default_factory=dict)

    def _strata(self) -> np.ndarray | None:
        if self.profile.task not in (Task.BINARY, Task.MULTICLASS, Task.ORDINAL):
            return None
        labels = self.target.argmax(axis=1) if self.target.ndim == 2 else self.target
        counts = np.bincount(labels.astype(int))
        return labels if counts[counts > 0].min() >= 2 else None

    def _indices(self) -> list[tuple[np.ndarray, np.ndarray]]:
        strata = self._strata()
        kwargs = {
            "n_splits": self.n_splits,
            "test_size": VALIDATION_SHARE,
            "random_state": self.seed,
        }
        splitter = (
            StratifiedShuffleSplit(**kwargs) if strata is not None else ShuffleSplit(**kwargs)
        )
        placeholder = np.zeros(len(self.target))
        return list(splitter.split(placeholder, strata))

    def __post_init__(self) -> None:
        self._splits = self._indices()

    def get(self, index: int) -> TrainingData:
        if index not in self._cache:
            train, val = self._splits[index]
            encoder = FeatureEncoder.from_profile(self.profile)
            x_train = encoder.fit_transform(self.features.iloc[train])
            x_val = encoder.transform(self.features.iloc[val])
            self._cache[index] = TrainingData(
                x_train=x_train,
                y_train=self.target[train],
                x_val=x_val,
                y_val=self.target[val],
                task=self.profile.task,
                n_classes=self.profile.n_classes,
                metric=self.metric,
                quantile=self.quantile,
            )
        return self._cache[index]


def make_splits(
    frame: pd.DataFrame, profile: DataProfile, shortlist: Shortlist, *, seed: int
) -> SplitMaker:
    """The search's splits of a profiled table (large tables subsampled first, seeded)."""
    features, target = split_xy(frame, profile)
    keep = search_rows(len(target), seed=seed)
    if keep is not None:
        features, target = features.iloc[keep], target[keep]
    return SplitMaker(
        features=features,
        target=target,
        profile=profile,
        metric=shortlist.metric,
        quantile=shortlist.objective.quantile or 0.5,
        seed=seed,
        n_splits=N_SPLITS,
    )
