"""Bad input: every error names the problem; each case asserts the type and the message."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pandas as pd
import pytest

from advisor.errors import AdvisorWarning, DataError, InputFileError, UsageError
from advisor.profiling import profile, read_table

FILE_CASES = [
    ("empty", b"", "the file is empty"),
    ("blank_lines", b"\n\n  \n", "the file is empty"),
    ("header_only", b"a,b,target\n", "header but no data rows"),
    ("header_only_no_newline", b"a,b,target", "header but no data rows"),
    ("nul_bytes", b"a,b\n1,\x002\n", "NUL bytes"),
    (
        "random_binary",
        bytes(np.random.default_rng(0).integers(1, 256, 4000, dtype=np.uint8)),
        "binary",
    ),
    ("ragged_too_many", b"a,b,c\n1,2,3\n4,5,6\n7,8,9,10\n", "line 4 has 4 fields, expected 3"),
    ("ragged_too_few", b"a;b;c\n1;2;3\n4;5\n", "line 3 has 2 fields, expected 3"),
    ("duplicate_header", b"a,b,a\n1,2,3\n", "duplicate header names 'a'"),
    ("blank_header", b"a,,c\n1,2,3\n", "column 2 has a blank header name"),
]


@pytest.mark.parametrize(("name", "content", "message"), FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_bad_files(tmp_path, name, content, message):
    path = tmp_path / f"{name}.csv"
    path.write_bytes(content)
    with pytest.raises(InputFileError, match=message) as info:
        read_table(path)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(InputFileError, match="no such file"):
        read_table(tmp_path / "nope.csv")


def test_directory(tmp_path):
    with pytest.raises(InputFileError, match="is a directory"):
        profile(tmp_path)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads anything")
def test_unreadable(tmp_path):
    path = tmp_path / "locked.csv"
    path.write_text("a,b\n1,2\n")
    path.chmod(0)
    with pytest.raises(InputFileError, match="cannot be read"):
        read_table(path)


def test_errors_are_value_and_os_errors(tmp_path):
    with pytest.raises(OSError):
        read_table(tmp_path / "nope.csv")
    with pytest.raises(ValueError):
        profile(pd.DataFrame({"x": [1, 2], "y": [3, 3]}))


def _ids(n):
    return pd.DataFrame({"x": np.random.default_rng(0).normal(size=n), "y": np.arange(n)})


DATA_CASES = [
    (
        "all_missing",
        pd.DataFrame({"x": [1, 2, 3], "y": [None, np.nan, None]}),
        "missing in all 3 rows",
    ),
    ("constant", pd.DataFrame({"x": [1, 2, 3], "y": [4, 4, 4]}), "is constant .every value is 4"),
    (
        "single_class_after_missing",
        pd.DataFrame({"x": [1, 2, 3], "y": ["a", None, "a"]}),
        "constant after dropping rows with a missing target",
    ),
    ("id_like_ints", _ids(50), "ID-like: all 50 values are distinct whole numbers"),
    (
        "id_like_strings",
        pd.DataFrame({"x": range(30), "y": [f"user{i}" for i in range(30)]}),
        "ID-like: all 30 values are distinct",
    ),
    (
        "mixed_numbers_strings",
        pd.DataFrame({"x": range(6), "y": ["1", "2", "a", "3", "b", "1"]}),
        "mixes numbers and strings",
    ),
    (
        "multi_output",
        pd.DataFrame({"x": range(4), "a": [1.0, 2, 3, 4], "b": [3.0, 1, 2, 5]}),
        "neither 0/1 indicators nor probabilities",
    ),
    (
        "string_among_targets",
        pd.DataFrame({"x": range(3), "a": [1, 0, 1], "b": ["p", "q", "r"]}),
        "several target columns must be 0/1",
    ),
    (
        "dates",
        pd.DataFrame({"x": range(3), "y": pd.to_datetime(["2020-01-01"] * 2 + ["2021-01-01"])}),
        "holds dates",
    ),
    ("no_rows", pd.DataFrame({"x": [], "y": []}), "no rows"),
    ("one_row", pd.DataFrame({"x": [1.0], "y": [2.0]}), "only 1 data row"),
]


@pytest.mark.parametrize(("name", "frame", "message"), DATA_CASES, ids=[c[0] for c in DATA_CASES])
def test_data_errors(name, frame, message):
    target = ["a", "b"] if name in ("multi_output", "string_among_targets") else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AdvisorWarning)
        with pytest.raises(DataError, match=message):
            profile(frame, target=target)


def test_data_error_names_the_path(tmp_path):
    path = tmp_path / "const.csv"
    path.write_text("x,target\n1,5\n2,5\n")
    with pytest.raises(DataError, match=r"const\.csv: target 'target' is constant"):
        profile(path)


def test_unique_wide_whole_numbers_are_not_ids():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=100), "price": rng.permutation(100) * 1000 + 7})
    assert profile(frame, target="price").task.is_regression


FIVE = pd.DataFrame({"x": range(50), "y": [1, 2, 3, 4, 5] * 10})
USAGE_CASES = [
    (
        "unknown_column",
        {"target": "price"},
        "column 'price' not found; columns are x, y; pass `target`",
    ),
    ("close_column", {"target": "Y"}, "did you mean 'y'"),
    ("empty_target", {"target": ""}, "`target` is empty"),
    ("unknown_task", {"task": "clustering"}, "unknown task 'clustering'"),
    (
        "binary_on_five",
        {"task": "binary"},
        r"binary needs exactly 2 classes or probabilities in \[0, 1\], found 5 values",
    ),
    ("multilabel_single", {"task": "multilabel"}, "multilabel needs several 0/1 columns"),
    ("all_targets", {"target": ["x", "y"]}, "every column was named as a target"),
]


@pytest.mark.parametrize(
    ("name", "kwargs", "message"), USAGE_CASES, ids=[c[0] for c in USAGE_CASES]
)
def test_usage_errors(name, kwargs, message):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AdvisorWarning)
        with pytest.raises(UsageError, match=message):
            profile(FIVE, **kwargs)


def test_impossible_regressions():
    strings = pd.DataFrame({"x": range(6), "y": list("abcabc")})
    with pytest.raises(UsageError, match="holds strings or booleans"):
        profile(strings, task="regression")
    zeros = pd.DataFrame({"x": range(6), "y": [0.0, 1.5, 2.5, 0.5, 3.5, 9.0]})
    with pytest.raises(UsageError, match="strictly positive .minimum 0"):
        profile(zeros, task="regression_positive")
    negative = pd.DataFrame({"x": range(6), "y": [-1.0, 1.5, 2.5, 0.5, 3.5, 9.0]})
    with pytest.raises(UsageError, match="counts cannot be negative"):
        profile(negative, task="regression_count")
    many = pd.DataFrame({"x": range(1500), "y": np.linspace(0, 1, 1500)})
    with pytest.raises(UsageError, match="too many classes"):
        profile(many, task="multiclass")
    onehot = pd.DataFrame({"x": range(4), "a": [1, 0, 1, 0], "b": [0, 1, 0, 1]})
    with pytest.raises(UsageError, match="columns read as multiclass"):
        profile(onehot, target=["a", "b"], task="regression")
    pipes = pd.DataFrame({"x": range(4), "labels": ["a|b", "a", "b", "b|a"]})
    with pytest.raises(UsageError, match="label sets"):
        profile(pipes, task="multiclass")


def test_bad_sample():
    with pytest.raises(UsageError, match="positive number of rows"):
        read_table(FIVE, sample=0)
