"""SplitMaker: shared, stratified splits encoded on their training rows; search_rows cap."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from advisor.profiling import profile_frame, split_xy
from advisor.records import MetricId
from advisor.search._splits import MAX_SEARCH_ROWS, SplitMaker, search_rows


@pytest.fixture(scope="module")
def binary():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=200), "b": rng.choice(["x", "y"], 200),
                          "label": np.where(np.arange(200) < 40, "yes", "no")})
    profile = profile_frame(frame, target="label")
    features, target = split_xy(frame, profile)
    return profile, features, target


def _maker(binary, seed: int = 0) -> SplitMaker:
    profile, features, target = binary
    return SplitMaker(features=features, target=target, profile=profile,
                      metric=MetricId.BALANCED_ACCURACY, quantile=0.5, seed=seed, n_splits=3)


def test_splits_are_stratified_cached_and_differ(binary) -> None:
    maker = _maker(binary)
    first, second = maker.get(0), maker.get(1)
    assert maker.get(0) is first
    for data in (first, second):
        assert len(data.y_val) == 40 and len(data.y_train) == 160
        assert data.y_val.mean() == pytest.approx(binary[2].mean())  # class share kept
        assert data.x_train.dtype == np.float32 and np.all(np.isfinite(data.x_train))
        assert data.n_classes == 2
    assert not np.array_equal(first.x_val, second.x_val)


def test_same_seed_same_splits(binary) -> None:
    a, b = _maker(binary).get(1), _maker(binary).get(1)
    np.testing.assert_array_equal(a.x_val, b.x_val)
    np.testing.assert_array_equal(a.y_train, b.y_train)


def test_search_rows_caps_large_tables_reproducibly() -> None:
    assert search_rows(MAX_SEARCH_ROWS, seed=0) is None
    rows = search_rows(MAX_SEARCH_ROWS + 10, seed=3)
    assert rows.size == MAX_SEARCH_ROWS and np.all(np.diff(rows) > 0)
    np.testing.assert_array_equal(rows, search_rows(MAX_SEARCH_ROWS + 10, seed=3))
