"""_tails: the target's one skewness; the residual fit's evidence of the farthest feature value."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from advisor.profiling import profile
from advisor.profiling._tails import skewness
from advisor.records import Task


def _amounts(extreme: float | None) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, 3))
    if extreme is not None:
        x[7, 1] = extreme  # one donor whose last gift was a hundred times the usual
    y = np.where(rng.random(2000) < 0.5, 0.0, np.exp(1 + 0.5 * x[:, 0]))
    return pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "y": y.round(2)})


def test_farthest_feature_value_is_measured_in_standard_deviations():
    clean = profile(_amounts(None), target="y").evidence["feature_max_abs_z"]
    extreme = profile(_amounts(100.0), target="y").evidence["feature_max_abs_z"]
    assert 3.0 < clean < 5.0  # the largest of 6,000 standard normal draws
    assert 40.0 < extreme < 45.0  # 100 / std, the std itself inflated by that value


def test_classification_tables_have_no_such_evidence():
    frame = _amounts(100.0).assign(y=lambda f: (f["y"] > 0).astype(int))
    assert "feature_max_abs_z" not in profile(frame, target="y").evidence


def _lognormal(n: int = 2000, sigma: float = 1.5) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(n, 2))
    y = np.exp(0.5 * x[:, 0] + rng.normal(0.0, sigma, n))
    return pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "y": y})


def test_skewness_is_the_bias_corrected_sample_estimate():
    y = _lognormal()["y"].to_numpy()
    assert skewness(y) == pytest.approx(stats.skew(y, bias=False), rel=1e-12)
    assert skewness(np.full(5, 3.0)) is None  # all equal: undefined, not 0 and no warning
    assert skewness(np.array([1.0, 2.0])) is None


def test_one_target_gets_one_skewness_figure():
    # the stats, the evidence and the runner-up reading all state the same measurement
    profiled = profile(_lognormal(), target="y")
    measured = profiled.target_stats.skewness
    assert profiled.task is Task.REGRESSION_POSITIVE and measured > 5
    assert profiled.evidence["skewness"] == round(measured, 4)
    (runner_up,) = (a for a in profiled.alternatives if a.task is Task.REGRESSION)
    assert f"skewness {measured:.2f} > 1" in runner_up.evidence
    assert "moderately" not in runner_up.evidence  # a skewness above 5 is no moderate skew
