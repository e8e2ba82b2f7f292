"""Real processes: SIGKILL during exploration, then --resume; Ctrl-C; a worker beside recommend.

Each test runs ``python -m advisor`` in subprocesses on a tiny table with one thread, and reads
the study back from its storage (SQLite file or journal file).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import optuna
import pandas as pd
import pytest

from advisor.search._storage import build_storage

pytestmark = pytest.mark.slow

ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def data_file(tmp_path_factory) -> str:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(160, 3))
    y = x @ np.array([1.0, -2.0, 0.5]) + rng.normal(scale=0.3, size=160)
    path = tmp_path_factory.mktemp("data") / "table.csv"
    pd.DataFrame(x, columns=["a", "b", "c"]).assign(y=y).to_csv(path, index=False)
    return str(path)


def _url(kind: str, folder) -> str:
    return f"sqlite:///{folder / 's.db'}" if kind == "sqlite" else f"journal:{folder / 'j.log'}"


def _recommend(data_file: str, url: str, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "advisor",
        "recommend",
        data_file,
        "--target",
        "y",
        "--storage",
        url,
        "--study-name",
        "k",
        "--seed",
        "0",
        *extra,
    ]


def _trials(url: str) -> list[optuna.trial.FrozenTrial]:
    try:
        return optuna.load_study(study_name="k", storage=build_storage(url)).trials
    except Exception:  # not created yet
        return []


def _explore(trials, state: str) -> list[optuna.trial.FrozenTrial]:
    return [t for t in trials if t.user_attrs.get("phase") == "explore" and t.state.name == state]


def _wait_for(url: str, ready, process: subprocess.Popen, timeout: float = 60.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        assert process.poll() is None, process.communicate()
        trials = _trials(url)
        if ready(trials):
            return trials
        time.sleep(0.1)
    raise AssertionError("the study never reached the expected state")


@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_a_killed_recommend_resumes_without_repeating_or_leaving_running(
    kind, data_file, tmp_path
) -> None:
    url = _url(kind, tmp_path)
    process = subprocess.Popen(
        _recommend(data_file, url, "--budget", "120", "--trials", "48"),
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _wait_for(url, lambda t: _explore(t, "COMPLETE") and _explore(t, "RUNNING"), process)
    process.send_signal(signal.SIGKILL)
    process.wait()
    before = _trials(url)
    finished = {t.number: t.value for t in before if t.state.is_finished()}
    killed = [t.number for t in before if t.state.name == "RUNNING"]
    assert killed  # it died mid-trial
    trials = len(_explore(before, "COMPLETE")) + len(_explore(before, "PRUNED")) + 2
    done = subprocess.run(
        _recommend(data_file, url, "--budget", "30", "--trials", str(trials), "--resume", "--json"),
        env=ENV,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    after = _trials(url)
    assert not [t for t in after if t.state.name == "RUNNING"]
    for number, value in finished.items():  # every finished trial kept as it was
        assert after[number].value == value and after[number].state.is_finished()
    for number in killed:
        assert after[number].state.name == "FAIL"
    explored = [
        t
        for t in after
        if t.user_attrs.get("phase") == "explore" and t.state.name in ("COMPLETE", "PRUNED")
    ]
    assert len(explored) == trials  # the finished ones plus only what was missing
    assert json.loads(done.stdout)["search"]["trials"] == trials


def test_ctrl_c_stops_cleanly_and_says_how_to_resume(data_file, tmp_path) -> None:
    url = _url("sqlite", tmp_path)
    process = subprocess.Popen(
        _recommend(data_file, url, "--budget", "120", "--trials", "48"),
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for(url, lambda t: _explore(t, "COMPLETE") and _explore(t, "RUNNING"), process)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130 and out == ""
    assert err.count("\n") == 1 and "--resume" in err and "--study-name k" in err
    assert "Traceback" not in err
    assert not [t for t in _trials(url) if t.state.name == "RUNNING"]
