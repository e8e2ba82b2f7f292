"""process_started (advisor/_clock.py): the budget of a command counts from the process's start."""

from __future__ import annotations

import builtins
import subprocess
import sys
import time
from pathlib import Path

import pytest

from advisor._clock import process_started

LINUX_PROC = Path("/proc/self/stat").exists()


@pytest.mark.skipif(not LINUX_PROC, reason="the process start is read from Linux's /proc")
def test_the_start_is_the_process_start_not_the_call() -> None:
    # the child sleeps before it asks: the answer must include the sleep and the interpreter
    child = (
        "import time; time.sleep(1.0); from advisor._clock import process_started; "
        "print(time.monotonic() - process_started())"
    )
    begun = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, check=True, timeout=60
    )
    wall = time.monotonic() - begun
    age = float(done.stdout)
    assert 1.0 <= age <= wall + 0.05  # clock ticks are 10 ms


def test_without_proc_the_start_is_now(monkeypatch) -> None:
    real_open = builtins.open

    def no_proc(path, *args, **kwargs):
        if str(path).startswith("/proc/"):
            raise FileNotFoundError(path)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", no_proc)
    before = time.monotonic()
    started = process_started()
    assert before <= started <= time.monotonic()
