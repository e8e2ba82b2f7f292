"""The target histogram: the bulk binned apart from the outliers the profile's MAD rate counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from advisor.profiling import profile_frame
from advisor.profiling._histogram import MAX_BINS, MAX_OUTLIERS, target_histogram


def _frame(y: np.ndarray) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame({"x": rng.normal(size=len(y)), "y": y})


def test_outliers_are_the_values_the_mad_rate_counts() -> None:
    rng = np.random.default_rng(0)
    y = rng.normal(size=500)
    y[:15] += 40.0
    profile = profile_frame(_frame(y), target="y")
    histogram = profile.histogram
    assert histogram is not None and histogram.scale == "linear"
    assert histogram.n_outliers == round(profile.outliers.mad_rate * 500) >= 15
    assert sum(histogram.counts) + histogram.n_outliers == 500
    assert len(histogram.edges) == len(histogram.counts) + 1 <= MAX_BINS + 1
    assert all(v > histogram.edges[-1] or v < histogram.edges[0] for v in histogram.outliers)
    assert "histogram" in profile.to_dict() and profile.to_dict()["histogram"]["n_outliers"] >= 15


def test_a_positive_skewed_target_is_binned_on_the_log_scale() -> None:
    y = np.random.default_rng(0).lognormal(mean=2.0, sigma=1.0, size=600)
    profile = profile_frame(_frame(y), target="y")
    assert profile.task.value == "regression_positive"
    histogram = profile.histogram
    assert histogram.scale == "log" and histogram.rule.endswith("on log(y)")
    widths = np.diff(np.log(histogram.edges))
    assert np.allclose(widths, widths[0])  # even on log(y), so uneven in y
    assert histogram.edges[0] == pytest.approx(min(y)) or histogram.n_outliers > 0


def test_classes_have_no_histogram() -> None:
    frame = pd.DataFrame({"y": ["a", "b"] * 40, "x": range(80)})
    profile = profile_frame(frame, target="y")
    assert profile.histogram is None and "histogram" not in profile.to_dict()


def test_many_outliers_keep_both_extremes_up_to_the_cap() -> None:
    y = np.sort(np.r_[np.zeros(1000) + np.linspace(-1, 1, 1000), np.linspace(50, 500, 600)])
    histogram = target_histogram(y)
    assert histogram.n_outliers == 600 and len(histogram.outliers) == MAX_OUTLIERS
    assert histogram.outliers[0] == 50.0 and histogram.outliers[-1] == 500.0


@pytest.mark.parametrize(
    ("values", "log"),
    [(np.array([]), False), (np.array([0.0, 1.0, 2.0]), True), (np.array([-1.0, 2.0]), True)],
)
def test_nothing_to_bin_gives_none(values: np.ndarray, log: bool) -> None:
    assert target_histogram(values, log=log) is None


def test_a_constant_bulk_is_one_bin() -> None:
    histogram = target_histogram(np.array([3.0] * 20))
    assert histogram.counts == (20,) and histogram.n_outliers == 0
