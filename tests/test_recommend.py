"""The job's own logic (advisor/_recommend.py): what the metric implies about the task."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd
import pytest

from advisor._recommend import (
    MIN_SEARCH_S,
    REPORT_RESERVE_S,
    profile_for_metric,
    search_budget,
)


def _scale_table(levels: int = 3, n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    x = rng.normal(size=n)
    y = np.clip(np.round(x + rng.normal(size=n) * 0.5) + 2, 1, levels).astype(int)
    return pd.DataFrame({"x": x, "z": rng.normal(size=n), "opinion": y})


def _profile(frame, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return profile_for_metric(frame, target="opinion", **kwargs)


def test_three_levels_read_as_classes_with_ordinal_as_the_alternative():
    profile = _profile(_scale_table(), task=None, metric=None)
    assert profile.task.value == "multiclass"
    assert "ordinal" in [a.task.value for a in profile.alternatives]


@pytest.mark.parametrize("metric", ["mae_index", "qwk"])
def test_an_ordinal_metric_makes_the_classes_ordered(metric):
    profile = _profile(_scale_table(), task=None, metric=metric)
    assert profile.task.value == "ordinal"
    assert profile.classes == ("1", "2", "3")
    assert f"--metric {metric}" in profile.target_detection


@pytest.mark.parametrize("metric", [None, "accuracy", "balanced_accuracy"])
def test_other_metrics_leave_the_detection_alone(metric):
    assert _profile(_scale_table(), task=None, metric=metric).task.value == "multiclass"


def test_an_explicit_task_wins_over_the_metric():
    profile = _profile(_scale_table(), task="multiclass", metric="mae_index")
    assert profile.task.value == "multiclass"


def test_string_categories_are_not_made_ordinal():
    # no ordinal alternative for unordered names: the metric cannot order them
    frame = _scale_table()
    frame["opinion"] = frame["opinion"].map({1: "red", 2: "green", 3: "blue"})
    profile = _profile(frame, task=None, metric="mae_index")
    assert profile.task.value == "multiclass"


def test_the_search_gets_what_the_job_left_less_the_reserve():
    now = time.monotonic()
    left = search_budget(60.0, started=now - 20.0)
    assert 60.0 - 20.0 - REPORT_RESERVE_S - 1.0 < left <= 60.0 - 20.0 - REPORT_RESERVE_S
    # a job whose reading outran its budget still measures something, briefly
    assert search_budget(60.0, started=now - 75.0) == MIN_SEARCH_S
