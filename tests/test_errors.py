"""Warnings point at the user's line, whichever path through the package raised them."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from advisor import recommend
from advisor.errors import AdvisorWarning
from advisor.profiling import profile_frame


@pytest.mark.parametrize(
    "entry",
    [
        lambda frame: profile_frame(frame, target="y"),
        lambda frame: recommend(frame, target="y", search=False),
    ],
    ids=["profile_frame", "recommend"],
)
def test_profiler_warning_is_attributed_to_the_callers_line(entry) -> None:
    rng = np.random.default_rng(0)
    # counts with few levels: the profiler warns that they could be ordinal
    frame = pd.DataFrame({"x": rng.normal(size=300), "y": rng.poisson(0.6, size=300)})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        entry(frame)
    ours = [w for w in caught if issubclass(w.category, AdvisorWarning)]
    assert ours, "expected the profiler to warn about this target"
    assert all(w.filename == __file__ for w in ours), [w.filename for w in ours]
