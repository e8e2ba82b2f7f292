"""Warnings point at the user's line, whichever path through the package raised them."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest

import advisor
from advisor import recommend
from advisor.errors import AdvisorWarning, UsageError
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


_RNG = np.random.default_rng(0)
FRAME = pd.DataFrame({"x": _RNG.normal(size=40), "y": _RNG.normal(size=40) + 1})


@pytest.mark.parametrize(
    ("call", "named"),
    [
        (lambda: advisor.profile(FRAME, target="price"), "pass `target`"),
        (lambda: advisor.profile(FRAME, target=""), "`target` is empty"),
        (lambda: advisor.profile(FRAME, decimal=";"), "`decimal` must be '.' or ','"),
        (lambda: advisor.profile(FRAME, sample=0), "`sample` must be a positive number of rows"),
        (
            lambda: advisor.profile(FRAME, target="y", task="multilabel"),
            "`task='multilabel'` is impossible for target 'y'",
        ),
        (
            lambda: advisor.confirm(FRAME, target="y", budget_s=0),
            "`budget_s` must be a positive number of seconds, got 0",
        ),
        (lambda: advisor.confirm(FRAME, target="y", trials=0), "`trials` must be at least 1"),
        # recommend refuses them before reading: it once clamped them to a 1 s search
        (lambda: recommend(FRAME, target="y", budget_s=-5), "`budget_s` must be a positive"),
        (lambda: recommend(FRAME, target="y", budget_s=float("nan")), "got nan"),
        (lambda: recommend(FRAME, target="y", trials=0), "`trials` must be at least 1"),
        (
            lambda: advisor.recommend(FRAME, target="y", metric="roc_auc", search=False),
            "pass another `metric`",
        ),
    ],
)
def test_library_errors_name_python_parameters_not_flags(call, named) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AdvisorWarning)
        with pytest.raises(UsageError) as caught:
            call()
    message = str(caught.value)
    assert named in message
    assert not re.search(r"(?<![\w-])--[a-z]", message), message
