"""The scikit-learn example runs, rules only and short training, as a user would run it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.slow
def test_sklearn_pipeline_example_tunes_the_loss_in_grid_search():
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "sklearn_pipeline.py"), "--budget", "0", "--steps", "100"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert lines[0].startswith("best parameters: {")
    assert sum("cv accuracy" in line for line in lines) == 6  # 3 losses x 2 widths
    test_line = next(line for line in lines if line.startswith("test accuracy: "))
    accuracy = float(test_line.split()[2])
    baseline = float(test_line.rsplit(" ", 1)[1].rstrip(")"))
    assert accuracy > baseline + 0.3  # three well-separated cultivars against the majority
    assert any(line.strip().startswith("output activation at prediction time:") for line in lines)
