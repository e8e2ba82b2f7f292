"""_tails: the residual fit's evidence of how far the farthest feature value lies."""

from __future__ import annotations

import numpy as np
import pandas as pd

from advisor.profiling import profile


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
