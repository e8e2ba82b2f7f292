"""Validation splits shared by every candidate, so that all losses are compared on the same rows.

Split 0 is for exploration (the Optuna study); splits 1..R confirm the finalists on rows the
exploration never chose a winner on, which keeps the winner's curse out of the comparison.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import HuberRegressor
from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit, train_test_split

from advisor.errors import warn
from advisor.profiling import split_xy
from advisor.records import DataProfile, MetricId, Shortlist, Task
from advisor.training import FeatureEncoder, TrainingData

__all__ = ["SplitMaker", "gross_errors", "make_splits", "search_rows"]

VALIDATION_SHARE = 0.2
MAX_SEARCH_ROWS = 50_000
N_SPLITS = 31  # split 0 explores; up to 10 confirm, up to 30 where a tie goes on (_race.py)
REFERENCE_FIT_ROWS = 5_000  # a robust linear fit needs few rows to place the bulk of the data
GROSS_ERROR_Z = 3.5  # modified z (Iglewicz & Hoaglin), as the profile's outlier rates


def gross_errors(
    x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray, *, seed: int
) -> np.ndarray:
    """Validation rows whose label a robust linear fit of the training rows calls a gross error.

    When labels carry gross errors, the validation labels carry them too, and a few corrupted
    rows then decide every comparison (a loss that fits the errors looks as good as one that
    ignores them). A Huber regression of the training rows (bounded influence, so the errors
    do not move it) predicts each validation row; a row whose residual is more than 3.5
    robust standard deviations from the training residuals' median is flagged.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=(400, 2)); y = x @ [2.0, -1.0] + rng.normal(size=400) * 0.1
        >>> y_val = y[300:].copy(); y_val[:5] += 30
        >>> int(gross_errors(x[:300], y[:300], x[300:], y_val, seed=0).sum())
        5
    """
    y_train = np.asarray(y_train, dtype=np.float64).reshape(-1)
    y_val = np.asarray(y_val, dtype=np.float64).reshape(-1)
    rows = np.arange(len(y_train))
    if rows.size > REFERENCE_FIT_ROWS:
        rows = np.sort(np.random.default_rng(seed).choice(rows, REFERENCE_FIT_ROWS, replace=False))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = HuberRegressor(max_iter=200).fit(x_train[rows], y_train[rows])
    residuals = y_train[rows] - model.predict(x_train[rows])
    center = float(np.median(residuals))
    mad = float(np.median(np.abs(residuals - center)))
    if not mad > 0:
        return np.zeros(len(y_val), dtype=bool)
    z = 0.6745 * np.abs(y_val - model.predict(x_val) - center) / mad
    return z > GROSS_ERROR_Z


def search_rows(n_rows: int, *, seed: int, strata: np.ndarray | None = None) -> np.ndarray | None:
    """Rows kept for the search when the data is large (None: all of them).

    With ``strata`` (class labels) the rows are drawn stratified, so every class keeps its
    share of the table (a rare class is not left to chance); otherwise uniformly.

    Example:
        >>> labels = np.array([0] * 99_000 + [1] * 1_000)
        >>> keep = search_rows(labels.size, seed=0, strata=labels)
        >>> keep.size, int(labels[keep].sum())
        (50000, 500)
    """
    if n_rows <= MAX_SEARCH_ROWS:
        return None
    if strata is not None:
        try:
            keep, _ = train_test_split(
                np.arange(n_rows), train_size=MAX_SEARCH_ROWS, stratify=strata, random_state=seed
            )
            return np.sort(keep)
        except ValueError:  # a class of one row cannot be split: draw uniformly
            pass
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
    robust_validation: bool = False  # score without the rows a robust fit flags (a rule says)
    flagged: dict[int, tuple[int, int]] = dataclasses.field(default_factory=dict)
    _cache: dict[int, TrainingData] = dataclasses.field(default_factory=dict)

    def _strata(self) -> np.ndarray | None:
        if self.profile.task not in (Task.BINARY, Task.MULTICLASS, Task.ORDINAL):
            return None
        labels = self.target.argmax(axis=1) if self.target.ndim == 2 else self.target
        labels = np.rint(labels).astype(int)  # soft binary labels: strata by the nearer class
        counts = np.bincount(labels)
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
            y_val = self.target[val]
            if self.robust_validation:
                flags = gross_errors(
                    x_train, self.target[train], x_val, y_val, seed=self.seed + index
                )
                self.flagged[index] = (int(flags.sum()), int(flags.size))
                x_val, y_val = x_val[~flags], y_val[~flags]
            self._cache[index] = TrainingData(
                x_train=x_train,
                y_train=self.target[train],
                x_val=x_val,
                y_val=y_val,
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
    strata = None
    if profile.task in (Task.BINARY, Task.MULTICLASS, Task.ORDINAL):
        labels = target.argmax(axis=1) if target.ndim == 2 else target
        strata = np.rint(labels).astype(int)
    n_rows = len(target)
    keep = search_rows(n_rows, seed=seed, strata=strata)
    if keep is not None:
        features, target = features.iloc[keep], target[keep]
        how = "stratified by class" if strata is not None else "uniform"
        whole = f" (the file has {profile.n_rows:,})" if profile.n_rows > len(frame) else ""
        warn(
            f"the search trains on a sample of {keep.size:,} of {n_rows:,} rows{whole}, "
            f"{how}, seed {seed}"
        )
    return SplitMaker(
        features=features,
        target=target,
        profile=profile,
        metric=shortlist.metric,
        quantile=shortlist.objective.quantile or 0.5,
        seed=seed,
        n_splits=N_SPLITS,
        robust_validation=bool(shortlist.settings.get("robust_validation", 0)),
    )
