"""Every threshold just below and just above; outlier rates on clean and contaminated data."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from advisor.errors import AdvisorWarning
from advisor.profiling import effective_number, imbalance_level, profile
from advisor.profiling._features import HIGH_CARDINALITY, summarise_features
from advisor.profiling._imbalance import measure_imbalance, multilabel_imbalance
from advisor.profiling._tails import MODIFIED_Z_CUTOFF, measure_outliers, modified_z
from advisor.records import FeatureKind, ImbalanceLevel, Task


@pytest.mark.parametrize(
    ("majority", "minority", "level"),
    [
        (149, 100, ImbalanceLevel.BALANCED),
        (150, 100, ImbalanceLevel.MILD),
        (299, 100, ImbalanceLevel.MILD),
        (300, 100, ImbalanceLevel.STRONG),
        (999, 100, ImbalanceLevel.STRONG),
        (1000, 100, ImbalanceLevel.EXTREME),
    ],
)
def test_imbalance_levels(majority, minority, level):
    stats = measure_imbalance({"a": majority, "b": minority})
    assert stats.level is level
    assert imbalance_level(majority / minority) is level
    assert stats.minority_share == pytest.approx(minority / (majority + minority), abs=1e-6)


def test_effective_number_matches_the_formula():
    total, count = 1000, 37
    beta = (total - 1) / total
    assert effective_number(count, total) == pytest.approx((1 - beta**count) / (1 - beta))
    assert effective_number(0, total) == 0.0


def test_multilabel_ratio_is_the_worst_label():
    stats = multilabel_imbalance({"a": 50, "b": 10, "c": 90}, 100)
    assert stats.ratio == pytest.approx(9.0)
    assert stats.positive_rates == {"a": 0.5, "b": 0.1, "c": 0.9}
    assert stats.level is ImbalanceLevel.STRONG


def test_binary_profile_imbalance():
    frame = pd.DataFrame({"x": range(110), "y": [0] * 100 + [1] * 10})
    result = profile(frame)
    assert result.imbalance.ratio == 10.0
    assert result.imbalance.level is ImbalanceLevel.EXTREME
    assert dict(result.imbalance.class_counts) == {"0": 100, "1": 10}


def test_modified_z_cutoff_just_below_and_above():
    base = np.repeat([-1.0, 0.0, 1.0], 50)  # with one more point: median 0, MAD 1
    for z, flagged in ((MODIFIED_Z_CUTOFF - 0.01, False), (MODIFIED_Z_CUTOFF + 0.01, True)):
        y = np.r_[base, z / 0.6745]
        assert modified_z(y)[-1] == pytest.approx(z, rel=1e-9)
        stats, _ = measure_outliers(y)
        assert (stats.mad_rate > 0) is flagged


def test_mad_zero_falls_back_to_mean_absolute_deviation():
    y = np.r_[np.zeros(80), np.ones(15), [40.0] * 5]
    z = modified_z(y)
    assert np.isfinite(z).all() and z[-1] > MODIFIED_Z_CUTOFF and z[0] == 0


def _linear(n=3000, noise=0.3, gross=0.0, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5))
    y = x @ np.array([1.0, -2.0, 0.5, 1.5, 0.0]) + rng.normal(scale=noise, size=n)
    sd = y.std()
    hit = rng.random(n) < gross
    y[hit] += rng.choice([-1, 1], hit.sum()) * rng.uniform(3, 5, hit.sum()) * sd
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(5)])
    frame["target"] = y
    return frame


def test_clean_regression_has_few_outliers():
    result = profile(_linear())
    assert result.outliers.rate < 0.02
    assert result.outliers.residual_rate is not None


def test_gross_errors_are_found_by_the_residual_fit():
    result = profile(_linear(gross=0.10))
    assert 0.08 <= result.outliers.rate <= 0.11
    assert result.outliers.residual_rate >= result.outliers.mad_rate


@pytest.mark.parametrize("gross", [0.0, 0.10])
def test_the_residual_fit_measures_the_noise_not_the_target(gross):
    """The noise scale is the spread the features leave (SD 0.3 here), not the target's (about
    2.7), with or without 10% gross errors: what Huber's delta is a multiple of."""
    result = profile(_linear(noise=0.3, gross=gross))
    assert result.evidence["residual_fit_scale"] == pytest.approx(0.3, rel=0.15)


def test_a_positive_target_s_noise_scale_is_in_its_units():
    """Fitted on log(y): a spread s there is about s x median(y) in the target's units."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3000, 3))
    y = 50.0 * np.exp(x @ np.array([0.5, -0.3, 0.2]) + rng.normal(scale=0.1, size=3000))
    frame = pd.DataFrame(x, columns=["a", "b", "c"]).assign(target=y)
    result = profile(frame)
    assert result.task is Task.REGRESSION_POSITIVE
    median = float(np.median(y))
    assert result.evidence["residual_fit_scale"] == pytest.approx(0.1 * median, rel=0.15)


def test_no_numeric_features_means_no_residual_rate():
    frame = pd.DataFrame({"c": list("abcd") * 25, "y": np.random.default_rng(0).normal(size=100)})
    assert profile(frame).outliers.residual_rate is None


@pytest.mark.parametrize(
    ("levels", "flagged"), [(HIGH_CARDINALITY, False), (HIGH_CARDINALITY + 1, True)]
)
def test_high_cardinality_threshold(levels, flagged):
    frame = pd.DataFrame({"c": [f"v{i % levels}" for i in range(levels * 3)]})
    summary, _ = summarise_features(frame, ["c"])
    assert ("c" in summary.high_cardinality) is flagged


@pytest.mark.parametrize(("n", "kind"), [(19, FeatureKind.NUMERIC), (20, FeatureKind.ID_LIKE)])
def test_id_like_feature_needs_twenty_rows(n, kind):
    summary, _ = summarise_features(pd.DataFrame({"id": np.arange(n) + 1000}), ["id"])
    assert summary.columns[0].kind is kind


@pytest.mark.parametrize(("k", "task"), [(11, "ordinal"), (12, "multiclass")])
def test_few_levels_bound(k, task):
    # 11 evenly spaced levels read as a scale; 12 flat consecutive codes read as classes
    frame = pd.DataFrame({"x": range(k * 20), "y": np.tile(np.arange(k), 20)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AdvisorWarning)
        assert profile(frame).task.value == task


@pytest.mark.parametrize(
    ("skew_scale", "task"), [(0.9, "regression"), (1.3, "regression_positive")]
)
def test_positive_skew_bound(skew_scale, task):
    rng = np.random.default_rng(3)
    y = np.exp(rng.normal(0, 1, 50_000) * skew_scale * 0.25) + 0.01  # skew rises with sigma
    # sigma 0.225 -> skew ~0.7; sigma 0.325 -> skew ~1.03
    frame = pd.DataFrame({"x": rng.normal(size=y.size), "y": y})
    result = profile(frame)
    assert result.task.value == task
    assert (result.evidence["skewness"] > 1) is (task == "regression_positive")


def test_feature_kinds():
    n = 40
    frame = pd.DataFrame(
        {
            "num": np.linspace(0, 1, n) ** 2,
            "flag": ["yes", "no"] * (n // 2),
            "when": ["2021-03-04"] * (n // 2) + ["2022-05-06 10:00"] * (n // 2),
            "note": [
                f"a rather long free text comment about this row number {i}" for i in range(n)
            ],
            "user": [f"u{i:04d}" for i in range(n)],
            "city": ["paris", "rome", "oslo", "lima"] * (n // 4),
            "const": [1] * n,
            "seq": np.arange(n),
            "ts": pd.date_range("2020-01-01", periods=n),
            "empty": [None] * n,
            "y": np.random.default_rng(0).normal(size=n),
        }
    )
    result = profile(frame, target="y")
    kinds = {c.name: c.kind.value for c in result.features.columns}
    assert kinds == {
        "num": "numeric",
        "flag": "boolean",
        "when": "datetime",
        "note": "text",
        "user": "id_like",
        "city": "categorical",
        "const": "constant",
        "seq": "id_like",
        "ts": "datetime",
        "empty": "constant",
    }
    assert result.features.constant == ("const", "empty")
    assert result.features.id_like == ("user", "seq")
    assert result.features.missing_rate == pytest.approx(n / (n * 10))


def test_target_magnitude_threshold_is_float32_range():
    """Training runs in float32: a target beyond its range is refused, one inside is profiled."""
    from advisor.errors import DataError
    from advisor.profiling._values import LARGEST_TARGET

    inside = np.r_[np.linspace(-1.0, 1.0, 40), LARGEST_TARGET]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert profile(pd.DataFrame({"x": np.arange(41.0), "y": inside})).task.is_regression
        beyond = np.r_[np.linspace(-1.0, 1.0, 40), np.nextafter(LARGEST_TARGET, np.inf)]
        with pytest.raises(DataError, match=r"values as large as 3.4e\+38, beyond float32"):
            profile(pd.DataFrame({"x": np.arange(41.0), "y": beyond}))


def test_levels_whose_range_overflows_are_not_a_scale():
    from advisor.profiling._task import _even_steps

    assert _even_steps(np.array([0.0, 1e-320, 3e38]))[0] is False
