"""FeatureEncoder: every feature kind -> a finite float32 matrix, fitted on training rows only."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

from advisor.errors import DataError
from advisor.training import FeatureEncoder

KINDS = {
    "num": "numeric",
    "cat": "categorical",
    "flag": "boolean",
    "when": "datetime",
    "note": "text",
    "row_id": "id_like",
    "same": "constant",
}


def _frame(n: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "num": rng.normal(10.0, 3.0, size=n),
        "cat": rng.choice(["red", "green", "blue"], size=n),
        "flag": rng.choice([True, False], size=n),
        "when": pd.date_range("2021-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
        "note": [f"free text number {i}" for i in range(n)],
        "row_id": np.arange(n),
        "same": ["k"] * n,
    })
    frame.loc[[1, 5, 9], "num"] = np.nan
    frame.loc[[2, 6], "cat"] = None
    frame.loc[[3], "when"] = None
    return frame


def test_every_kind_becomes_a_finite_float32_matrix() -> None:
    frame = _frame()
    matrix = FeatureEncoder(KINDS).fit_transform(frame)
    assert matrix.dtype == np.float32
    assert matrix.shape[0] == len(frame)
    assert np.all(np.isfinite(matrix))
    names = list(FeatureEncoder(KINDS).fit(frame).transformer_.get_feature_names_out())
    # text, ID-like and constant columns are dropped; missing values get indicators
    assert not any(part in name for name in names for part in ("note", "row_id", "same"))
    assert "numeric__missingindicator_num" in names
    assert "numeric__when" in names
    assert any(name.startswith("categorical__cat_") for name in names)


def test_statistics_come_from_the_training_rows_only() -> None:
    train, other = _frame(seed=0), _frame(seed=1)
    other["num"] = other["num"] + 1000.0  # far outside the training range
    other["cat"] = "never-seen"  # an unknown category is fine at transform time
    encoder = FeatureEncoder({"num": "numeric", "cat": "categorical"}).fit(train)
    on_train = encoder.transform(train)
    assert on_train[:, 0].mean() == pytest.approx(0.0, abs=1e-5)
    shifted = encoder.transform(other)
    assert np.all(np.isfinite(shifted))
    assert shifted[~other["num"].isna().to_numpy(), 0].min() > 100  # not re-standardised
    cat_columns = [i for i, name in enumerate(encoder.transformer_.get_feature_names_out())
                   if name.startswith("categorical__")]
    unknown = shifted[:, cat_columns]
    # unknown levels go to the pooled "infrequent" column (or none): never to a known level
    assert np.all(unknown.sum(axis=1) <= 1.0) and np.all(unknown == unknown[0])
    known = encoder.transform(train)[:, cat_columns]
    assert not any(np.array_equal(unknown[0], row) for row in known if row.argmax() < 3)


def test_from_profile_uses_the_profiled_kinds() -> None:
    from advisor.profiling import profile_frame

    frame = _frame(n=60)
    frame["y"] = np.random.default_rng(3).normal(size=60)
    profile = profile_frame(frame, target="y")
    encoder = FeatureEncoder.from_profile(profile)
    assert set(encoder.kinds) == set(KINDS)
    assert np.all(np.isfinite(encoder.fit_transform(frame.drop(columns="y"))))


def test_transform_before_fit_raises() -> None:
    with pytest.raises(NotFittedError, match="before fit"):
        FeatureEncoder(KINDS).transform(_frame())


def test_only_text_and_id_columns_is_a_data_error() -> None:
    encoder = FeatureEncoder({"note": "text", "row_id": "id_like", "same": "constant"})
    with pytest.raises(DataError, match="no usable feature columns"):
        encoder.fit(_frame())


def test_unknown_kind_is_rejected() -> None:
    with pytest.raises(ValueError, match="not a valid FeatureKind"):
        FeatureEncoder({"num": "fancy"})
