"""prepare (search/_prepare.py): the content hash is made only where another process needs it."""

from __future__ import annotations

import hashlib
import warnings

import numpy as np
import pandas as pd
import pytest

from advisor.search import prepare
from advisor.search._prepare import data_digest


@pytest.fixture
def data_file(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "t.csv"
    frame = pd.DataFrame({"x": rng.normal(size=60), "y": rng.integers(0, 2, size=60)})
    frame.to_csv(path, index=False)
    return path


def _prepare(path, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return prepare(path, target="y", **kwargs)


def test_the_job_carries_the_files_sha256(data_file):
    expected = "sha256:" + hashlib.sha256(data_file.read_bytes()).hexdigest()
    assert _prepare(data_file).job.digest == expected == data_digest(data_file)


def test_no_hash_is_made_when_no_process_will_check_it(data_file):
    unhashed = _prepare(data_file, content_hash=False)
    assert unhashed.job.digest == ""
    hashed = _prepare(data_file)
    assert unhashed.profile == hashed.profile and unhashed.listed == hashed.listed
