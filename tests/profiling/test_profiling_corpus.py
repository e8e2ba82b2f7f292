"""The corpus of tricky targets: expected task and label encoding for each, and the comparison
with scikit-learn's ``type_of_target`` on the same targets."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from profiling_corpus import CASES, build
from sklearn.utils.multiclass import type_of_target

from advisor.errors import AdvisorWarning
from advisor.profiling import profile, read_table


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_corpus_task_and_encoding(case, tmp_path):
    source = build(case, tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AdvisorWarning)
        result = profile(source, target=case.target)
    assert (result.task.value, result.label_encoding.value) == (case.task, case.encoding)
    if case.target is not None:
        assert result.target == case.target
    assert 0.0 <= result.confidence <= 1.0
    assert result.to_dict()["task"] == case.task


def test_corpus_is_large_enough():
    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES)


def _sklearn_reading(case, tmp_path) -> str:
    source = build(case, tmp_path)
    frame = read_table(source)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AdvisorWarning)
        columns = profile(frame, target=case.target).target
    y = frame[list(columns)].dropna()
    values = y.to_numpy() if len(columns) > 1 else y.iloc[:, 0].to_numpy()
    if values.dtype.kind not in "biuf":
        values = values.astype(str) if values.ndim == 1 else values
    try:
        return type_of_target(values)
    except ValueError as exc:
        return f"error: {exc}"


def test_type_of_target_comparison_is_recorded(tmp_path):
    """Records (ours, sklearn's) per case; asserts only the documented disagreements."""
    table = {}
    for case in CASES:
        table[case.id] = (case.task, _sklearn_reading(case, tmp_path))
    # sklearn cannot express these readings at all:
    assert table["rating_1_5_named"] == ("ordinal", "multiclass")
    assert table["rating_float_1_5"] == ("ordinal", "multiclass")
    assert table["doctor_visits"] == ("regression_count", "multiclass")
    assert table["negative_integers"] == ("regression", "multiclass")
    assert table["probability_columns"] == ("multiclass", "continuous-multioutput")
    assert table["one_hot_y_prefix"] == ("multiclass", "multilabel-indicator")
    assert table["two_column_multi_hot"] == ("multilabel", "multilabel-indicator")
    assert table["zero_one_ints"] == ("binary", "binary")


def test_missing_labels_are_dropped_with_a_warning():
    frame = pd.DataFrame({"x": np.arange(10.0), "y": [0, 1, None, 1, 0, 1, None, 0, 1, 0]})
    with pytest.warns(AdvisorWarning, match="dropped 2 of 10 rows"):
        result = profile(frame)
    assert result.target_stats.n_missing == 2
    assert any("dropped 2 of 10 rows" in w for w in result.warnings)
