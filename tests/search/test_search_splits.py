"""SplitMaker: shared, stratified splits encoded on their training rows; search_rows cap."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from advisor.profiling import profile_frame, split_xy
from advisor.records import MetricId
from advisor.search._splits import MAX_SEARCH_ROWS, SplitMaker, make_splits, search_rows
from advisor.selection import shortlist


@pytest.fixture(scope="module")
def binary():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "a": rng.normal(size=200),
            "b": rng.choice(["x", "y"], 200),
            "label": np.where(np.arange(200) < 40, "yes", "no"),
        }
    )
    profile = profile_frame(frame, target="label")
    features, target = split_xy(frame, profile)
    return profile, features, target


def _maker(binary, seed: int = 0) -> SplitMaker:
    profile, features, target = binary
    return SplitMaker(
        features=features,
        target=target,
        profile=profile,
        metric=MetricId.BALANCED_ACCURACY,
        quantile=0.5,
        seed=seed,
        n_splits=3,
    )


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


def test_robust_validation_drops_the_rows_a_robust_fit_flags():
    """Gross label errors in validation rows are not scored; clean rows all are."""
    rng = np.random.default_rng(0)
    n = 600
    x = rng.normal(size=(n, 3))
    y = x @ [1.5, -1.0, 0.5] + rng.normal(size=n) * 0.2
    corrupted = rng.choice(n, 60, replace=False)
    y[corrupted] += rng.choice([-1, 1], 60) * rng.uniform(8, 12, 60)
    frame = pd.DataFrame(x, columns=["a", "b", "c"]).assign(target=y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        profile = profile_frame(frame, target="target")
    listed = shortlist(profile)
    assert listed.settings.get("robust_validation") == 1
    splits = make_splits(frame, profile, listed, seed=0)
    data = splits.get(1)
    flagged, total = splits.flagged[1]
    assert total - flagged == len(data.y_val)
    in_val = np.isin(y, data.y_val)
    # every corrupted row of the validation part is dropped, and no more than a few clean ones
    assert not np.any(in_val[corrupted])
    assert flagged <= int(0.1 * total) + 5
    assert np.max(np.abs(data.y_val)) < 8


def test_without_the_rule_every_validation_row_is_scored():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 2))
    frame = pd.DataFrame(x, columns=["a", "b"]).assign(target=x[:, 0] + rng.normal(size=300))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        profile = profile_frame(frame, target="target")
    listed = shortlist(profile)
    assert not listed.settings.get("robust_validation")
    splits = make_splits(frame, profile, listed, seed=0)
    assert len(splits.get(1).y_val) == 60
    assert splits.flagged == {}
