"""Every API example script runs, with a tiny budget, as a user would run it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _run(script: str, *args: str) -> str:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.slow
def test_custom_model_example_trains_the_users_network():
    out = _run("custom_model.py", "--budget", "4")
    assert "recommended loss:" in out
    assert "splits" in out


@pytest.mark.slow
def test_optuna_study_example_draws_only_shortlisted_losses():
    out = _run("optuna_study.py", "--trials", "4", "--epochs", "15")
    shortlist = out.splitlines()[0].removeprefix("shortlist: ").split(", ")
    tried = next(line for line in out.splitlines() if line.startswith("losses tried:"))
    assert set(tried.removeprefix("losses tried: ").split(", ")) <= set(shortlist)


@pytest.mark.slow
def test_explain_choice_example_prints_the_rationale_and_trains_with_the_advice():
    out = _run("explain_choice.py", "--budget", "3", "--epochs", "60")
    assert out.startswith("Recommended loss: ")
    assert "Why:" in out and "PyTorch:" in out
    accuracy = float(out.rsplit("training accuracy with the advised loss: ", 1)[1].split()[0])
    assert accuracy > 0.8  # three well-separated cultivars: the advised loss must learn them
