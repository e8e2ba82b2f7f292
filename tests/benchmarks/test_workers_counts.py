"""benchmarks/workers.py's storage counts: a process run through ``--as-process`` leaves them."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "workers.py"

pytestmark = pytest.mark.slow


def _workers_module():
    spec = importlib.util.spec_from_file_location("bench_workers", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_counted_process_leaves_its_storage_traffic(tmp_path) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 2))
    data = tmp_path / "t.csv"
    pd.DataFrame(x, columns=["a", "b"]).assign(y=x[:, 0] + rng.normal(size=120)).to_csv(
        data, index=False
    )
    counts = tmp_path / "counts"
    counts.mkdir()
    workers = _workers_module()
    process = subprocess.run(
        [sys.executable, str(SCRIPT), "--as-process", "recommend", str(data), "--target", "y"]
        + ["--storage", f"sqlite:///{tmp_path / 's.db'}", "--study-name", "c"]
        + ["--trials", "2", "--budget", "20", "--quiet"],
        env={**os.environ, "OMP_NUM_THREADS": "1", workers.COUNTS_ENV: str(counts)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert process.returncode == 0, process.stderr
    (left,) = list(counts.iterdir())
    line = workers._traffic(str(counts), int(left.stem), trained=10)
    found = re.search(r"(\d+) transactions \(\S+, (\S+) of them taking the write lock", line)
    assert found and int(found.group(1)) > 0
    # reads start a plain BEGIN: fewer transactions take the lock than there are
    assert 0 < float(found.group(2)) * 10 < int(found.group(1))
    read = re.search(r"reading (\d+) trials", line)
    assert read and int(read.group(1)) > 0 and "get_all_trials" in line
