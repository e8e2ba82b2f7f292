"""examples/custom_loss.py runs as a user would run it: its loss is shortlisted and trained."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.slow
def test_custom_loss_example_shortlists_and_trains_the_registered_loss():
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "custom_loss.py"), "--budget", "4"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    shortlist = lines[0].removeprefix("shortlist: ").split(", ")
    assert "asymmetric" in shortlist
    assert lines[1] == "asymmetric starts with {'over': 3.0}, because:"
    assert "[team-asymmetric-for-demand]" in lines[2]
    trained = lines.index("trained (pinball, minimize, mean over splits):")
    end = lines.index("", trained)
    rows = {line.split()[0]: line.split() for line in lines[trained + 1 : end]}
    assert set(rows) == set(shortlist)
    score, splits = float(rows["asymmetric"][1]), int(rows["asymmetric"][3])
    assert math.isfinite(score) and splits >= 1
    assert "Recommended loss: " in done.stdout and "PyTorch:" in done.stdout
