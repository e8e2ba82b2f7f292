"""A journal file's lock is released by the kernel when its holder dies, and still excludes."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time

import optuna
import pytest

from advisor.search._journal_lock import KernelFileLock, journal_lock
from advisor.search._storage import build_storage

pytestmark = pytest.mark.skipif(
    journal_lock("x") is None, reason="no fcntl here: the journal keeps Optuna's lock file"
)

HOLD = textwrap.dedent(
    """
    import sys, time
    from advisor.search._journal_lock import KernelFileLock
    lock = KernelFileLock(sys.argv[1])
    lock.acquire()
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
    print(f"released {time.time()!r}", flush=True)
    lock.release()
    """
)


def _holder(path, seconds: float) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout.readline().strip() == "held"
    return process


def test_a_lock_whose_holder_was_killed_is_free_at_once(tmp_path) -> None:
    journal = tmp_path / "study.log"
    holder = _holder(journal, 600)
    holder.send_signal(signal.SIGKILL)  # dies holding the lock, as a worker killed mid-append
    holder.wait()
    started = time.monotonic()
    lock = KernelFileLock(str(journal))
    assert lock.acquire()
    assert time.monotonic() - started < 2.0  # Optuna's own lock file waits 30 s here
    lock.release()


def test_a_live_holder_still_excludes_others(tmp_path) -> None:
    journal = tmp_path / "study.log"
    holder = _holder(journal, 0.5)
    lock = KernelFileLock(str(journal))
    lock.acquire()
    got = time.time()
    lock.release()
    released = float(holder.stdout.readline().split()[1])
    holder.wait()
    assert got >= released


def test_two_threads_of_one_process_exclude_each_other(tmp_path) -> None:
    import threading

    journal = str(tmp_path / "study.log")
    first, second = KernelFileLock(journal), KernelFileLock(journal)
    first.acquire()
    order: list[str] = []
    thread = threading.Thread(target=lambda: (second.acquire(), order.append("second")))
    thread.start()
    time.sleep(0.2)
    order.append("first releases")
    first.release()
    thread.join(5)
    second.release()
    assert order == ["first releases", "second"]


def test_releasing_a_lock_not_held_is_an_error(tmp_path) -> None:
    with pytest.raises(RuntimeError):
        KernelFileLock(str(tmp_path / "study.log")).release()


def test_journal_storage_uses_it_and_survives_pickling(tmp_path) -> None:
    path = tmp_path / "study.log"
    storage = build_storage(f"journal:{path}")
    assert isinstance(storage._backend._lock, KernelFileLock)
    study = optuna.create_study(study_name="s", storage=storage)
    study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=3)
    copy = pickle.loads(pickle.dumps(storage))
    reloaded = optuna.load_study(study_name="s", storage=copy)
    assert [t.value for t in reloaded.trials] == [t.value for t in study.trials]
    assert os.path.exists(f"{path}.flock")
