"""A positive, right-skewed target's long tail is its shape, not gross error."""

from __future__ import annotations

import numpy as np
import pandas as pd

from advisor.profiling import profile_frame


def _prices(n: int = 2000, *, corrupt: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 3))
    price = np.exp(3.0 + 0.4 * x[:, 0] + rng.normal(scale=0.8, size=n))
    bad = rng.random(n) < corrupt
    price[bad] *= 60.0  # gross errors: a misplaced decimal point or two
    return pd.DataFrame(x, columns=["a", "b", "c"]).assign(price=price)


def test_lognormal_prices_are_not_called_outliers():
    profile = profile_frame(_prices(), target="price")
    assert profile.task.value == "regression_positive"
    assert profile.outliers.rate < 0.02
    assert profile.outliers.method.startswith("on log(y)")


def test_gross_errors_in_prices_are_still_found_on_the_log_scale():
    profile = profile_frame(_prices(corrupt=0.1), target="price")
    assert profile.task.value == "regression_positive"
    assert 0.06 < profile.outliers.rate < 0.14
