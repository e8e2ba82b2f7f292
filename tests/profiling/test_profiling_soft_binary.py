"""One column of probabilities in [0, 1]: a soft binary label (``binary`` / ``probability``) when
the name or the shape says so, a regression on a fraction otherwise; each with the other reading
as its alternative."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from advisor.errors import AdvisorWarning, UsageError
from advisor.profiling import profile, split_xy
from advisor.profiling._task import END_BAND, END_SHARE, FEW_LEVELS
from advisor.records import LabelEncoding, LossId, MetricId, Task
from advisor.selection import shortlist
from advisor.training._metrics import score_metric
from advisor.training._scorer import ValidationScorer

N = 400


def _frame(y, name: str = "y") -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return pd.DataFrame({"x": rng.normal(size=len(y)), name: y})


def _profile(frame, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AdvisorWarning)
        return profile(frame, **kwargs)


def _ends(low: float, high: float, n: int = 1000) -> np.ndarray:
    """``low`` of the values at 0.01, ``high`` at 0.99, the rest spread over (0.2, 0.8)."""
    n_low, n_high = round(low * n), round(high * n)
    middle = np.linspace(0.2, 0.8, n - n_low - n_high)
    return np.r_[np.full(n_low, 0.01), np.full(n_high, 0.99), middle]


rng = np.random.default_rng(0)
SOFT = {
    "ctr": rng.beta(1, 30, N),
    "p_click": rng.beta(2, 8, N),
    "ConversionRate": rng.beta(1, 20, N),
    "market_share": rng.beta(2, 5, N),
    "y": rng.beta(0.3, 0.3, N),  # piled at both ends
}
FRACTIONS = {
    "y": rng.beta(2, 5, N),  # the corpus's fraction_0_1: nothing at the ends, no name
    "rating": rng.beta(2, 2, N),  # 'rate' only as a whole token
    "humidity": rng.uniform(0, 1, N),
}


@pytest.mark.parametrize("name", SOFT)
def test_soft_binary_labels(name):
    result = _profile(_frame(SOFT[name], name), target=name)
    assert (result.task, result.label_encoding) == (Task.BINARY, LabelEncoding.PROBABILITY)
    assert result.classes == ("0", "1")
    assert result.alternatives[0].task is Task.REGRESSION
    assert any("pass --task regression" in w for w in result.warnings)


@pytest.mark.parametrize("name", FRACTIONS)
def test_fractions_stay_regression_with_the_soft_label_as_alternative(name):
    result = _profile(_frame(FRACTIONS[name], name), target=name)
    assert (result.task, result.label_encoding) == (Task.REGRESSION, LabelEncoding.CONTINUOUS)
    alternative = result.alternatives[0]
    assert (alternative.task, alternative.label_encoding) == (
        Task.BINARY,
        LabelEncoding.PROBABILITY,
    )
    assert alternative.flag == "--task binary"


@pytest.mark.parametrize(
    ("low", "high", "task"),
    [
        (END_SHARE + 0.005, END_SHARE + 0.005, Task.BINARY),  # both ends just above
        (END_SHARE - 0.005, END_SHARE + 0.005, Task.REGRESSION),  # one end just below
        (END_SHARE + 0.005, END_SHARE - 0.005, Task.REGRESSION),
        (0.5, 0.0, Task.REGRESSION),  # one end only: zero-inflated fraction
    ],
)
def test_end_share_threshold(low, high, task):
    assert _profile(_frame(_ends(low, high))).task is task


@pytest.mark.parametrize(
    ("at", "task"), [(END_BAND, Task.BINARY), (END_BAND + 1e-3, Task.REGRESSION)]
)
def test_end_band_threshold(at, task):
    values = np.r_[np.full(150, at), np.full(150, 1 - at), np.linspace(0.2, 0.8, 700)]
    assert _profile(_frame(values)).task is task


def test_few_levels_in_the_unit_interval_keep_the_old_reading():
    levels = np.linspace(0, 1, FEW_LEVELS)  # 11 levels: the ordinal / classes reading
    values = np.tile(levels, 40)
    result = _profile(_frame(values))
    assert result.label_encoding is not LabelEncoding.PROBABILITY
    more = np.tile(np.linspace(0, 1, FEW_LEVELS + 1), 40)
    assert _profile(_frame(more, "ctr"), target="ctr").label_encoding is LabelEncoding.PROBABILITY


def test_task_flag_settles_it_both_ways():
    ctr = _frame(SOFT["ctr"], "ctr")
    assert _profile(ctr, task="regression").task is Task.REGRESSION
    fraction = _frame(FRACTIONS["y"])
    forced = _profile(fraction, task="binary")
    assert (forced.task, forced.label_encoding) == (Task.BINARY, LabelEncoding.PROBABILITY)
    with pytest.raises(UsageError, match=r"or probabilities in \[0, 1\], found \d+ values"):
        _profile(_frame(rng.uniform(0, 2, N)), task="binary")


def test_balance_and_training_target_are_soft():
    values = SOFT["ctr"]
    frame = _frame(values, "ctr")
    result = _profile(frame, target="ctr")
    positives = round(values.sum())
    assert result.imbalance.class_counts == {"0": N - positives, "1": positives}
    _, y = split_xy(frame, result)
    np.testing.assert_array_equal(y, values)
    assert y.dtype == np.float64


def test_shortlist_trains_on_the_probabilities():
    listed = shortlist(_profile(_frame(SOFT["ctr"], "ctr"), target="ctr"))
    losses = [c.loss for c in listed.candidates]
    assert losses[0] is LossId.BCE
    hard = {LossId.HINGE, LossId.SQUARED_HINGE, LossId.CE, LossId.LOGIT_ADJUSTED}
    assert not hard & set(losses)
    assert listed.metric is MetricId.BRIER


def test_brier_of_soft_labels_is_scored_as_they_are():
    y = np.array([0.1, 0.7, 0.3, 0.95])
    p = np.array([0.2, 0.6, 0.3, 0.9])
    expected = float(np.mean((p - y) ** 2))
    assert score_metric(MetricId.BRIER, y, p, task=Task.BINARY, n_classes=2) == pytest.approx(
        expected
    )
    scorer = ValidationScorer(MetricId.BRIER, y, task=Task.BINARY, n_classes=2)
    assert scorer(p) == pytest.approx(expected)


def test_recommend_trains_a_soft_binary_target():
    """End to end: splits, loss context, BCE on soft targets and the Brier score all take it."""
    from advisor import recommend

    gen = np.random.default_rng(3)
    x = gen.normal(size=(240, 2))
    frame = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "ctr": 1 / (1 + np.exp(2.5 - x[:, 0]))})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # the work is bounded by trials=2 and the race; the budget only caps it, and a cap
        # of a few seconds cut the runs short on a loaded machine (brier 0.04-0.15 against
        # the mean's 0.009), which is a test of the machine, not of soft targets
        advice = recommend(frame, target="ctr", budget_s=60, trials=2, seed=0)
    document = advice.to_dict()
    assert document["profile"]["label_encoding"] == "probability"
    assert document["search"]["metric"] == "brier"
    results = document["search"]["results"]
    assert results and all(r["mean"] >= 0 for r in results)
    # the recommended loss beats predicting the mean probability for every row
    best = min(r["mean"] for r in results)
    assert best < float(np.var(frame["ctr"]))
