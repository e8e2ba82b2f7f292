"""split_xy: canonical target arrays per task and encoding, rows without a target dropped."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from advisor.errors import AdvisorWarning, DataError
from advisor.profiling import profile, read_table, split_xy


def _split(frame, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AdvisorWarning)
        result = profile(frame, **kwargs)
    features, y = split_xy(frame, result)
    return result, features, y


def test_regression_keeps_units_and_drops_missing():
    frame = pd.DataFrame({"x": [1, 2, 3, 4, 5], "y": [1.5, np.nan, 2.5, 10.0, 3.25]})
    result, features, y = _split(frame)
    assert y.dtype == np.float64 and y.tolist() == [1.5, 2.5, 10.0, 3.25]
    assert features["x"].tolist() == [1, 3, 4, 5]
    assert list(features.columns) == ["x"]


@pytest.mark.parametrize(
    ("values", "classes", "expected"),
    [
        ([1, -1, 1, -1], ("-1", "1"), [1, 0, 1, 0]),
        (["yes", "no", "no", "yes"], ("no", "yes"), [1, 0, 0, 1]),
        (["True", "False", "True", "True"], ("False", "True"), [1, 0, 1, 1]),
        ([True, False, True, False], ("false", "true"), [1, 0, 1, 0]),
        ([2.0, 1.0, 3.0, 10.0], ("1", "2", "3", "10"), [1, 0, 2, 3]),
        (["b", "a", "c", "a"], ("a", "b", "c"), [1, 0, 2, 0]),
    ],
)
def test_class_indices(values, classes, expected):
    frame = pd.DataFrame({"x": range(len(values)), "y": values})
    result, _, y = _split(frame, task="multiclass" if len(set(map(str, values))) > 2 else None)
    assert result.classes == classes
    assert y.dtype == np.int64 and y.tolist() == expected


def test_ordinal_classes_sorted_by_level():
    frame = pd.DataFrame({"x": range(6), "y": ["level10", "level2", "level1"] * 2})
    result, _, y = _split(frame, task="ordinal")
    assert result.classes == ("level1", "level2", "level10")
    assert y.tolist() == [2, 1, 0, 2, 1, 0]


def test_one_hot_to_indices_and_multilabel_matrix():
    onehot = pd.DataFrame({"x": range(3), "y_a": [1, 0, 0], "y_b": [0, 0, 1], "y_c": [0, 1, 0]})
    result, features, y = _split(onehot)
    assert result.classes == ("y_a", "y_b", "y_c")
    assert y.dtype == np.int64 and y.tolist() == [0, 2, 1]
    assert list(features.columns) == ["x"]
    multi = pd.DataFrame({"x": range(3), "y_a": [1, 0, 1], "y_b": [1, 0, 0]})
    _, _, y = _split(multi)
    assert y.dtype == np.float32 and y.tolist() == [[1, 1], [0, 0], [1, 0]]


def test_probabilities_and_pipe_labels():
    soft = pd.DataFrame({"x": range(2), "p_a": [0.2, 0.9], "p_b": [0.8, 0.1]})
    result, _, y = _split(soft, target=["p_a", "p_b"])
    assert result.label_encoding.value == "probability"
    assert y.dtype == np.float64 and y.shape == (2, 2)
    pipes = pd.DataFrame({"x": range(4), "labels": ["a|b", "b", None, "c|a"]})
    result, features, y = _split(pipes)
    assert result.classes == ("a", "b", "c")
    assert y.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 1]] and len(features) == 3


def test_unknown_class_value_is_a_data_error():
    frame = pd.DataFrame({"x": range(4), "y": ["a", "b", "a", "b"]})
    result, _, _ = _split(frame)
    with pytest.raises(DataError, match="'c' is not one of the profiled classes"):
        split_xy(pd.DataFrame({"x": [1], "y": ["c"]}), result)


def test_sample_keeps_order_and_is_seeded(tmp_path):
    path = tmp_path / "t.csv"
    pd.DataFrame({"i": range(100), "y": [0, 1] * 50}).to_csv(path, index=False)
    first = read_table(path, sample=10, seed=3)
    assert len(first) == 10 and first["i"].is_monotonic_increasing
    assert first.equals(read_table(path, sample=10, seed=3))
    frame = pd.DataFrame({"a": [1, 2]})
    assert read_table(frame) is frame


def test_profile_round_trips_to_json():
    import json

    frame = pd.DataFrame({"x": np.arange(60.0), "rating": [1, 2, 3, 4, 5, 5] * 10})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AdvisorWarning)
        data = profile(frame).to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["task"] == "ordinal" and data["alternatives"][0]["flag"] == "--task multiclass"
