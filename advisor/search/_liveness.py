"""Which running trials still have a live process behind them, and failing those that do not.

Every trial a process takes is stamped with its owner (host, pid, the process's start time)
and beats while it trains: Optuna's own heartbeat on relational storages (whose stale trials
``optuna.storages.fail_stale_trials`` fails and its ``RetryFailedTrialCallback`` queues again),
a ``lossadvisor:beat`` time in the trial's system attributes on storages without heartbeats
(journal files). :func:`sweep` fails a running trial when its owner is a process on this host
that no longer exists (a pid alone could have been reused: the start time must match too), or
when it has not beaten for ``GRACE_S``. A live worker's trial on another machine is never
failed while it beats, so any process may sweep at any time.
"""

from __future__ import annotations

import datetime
import os
import socket
import threading
import time
import warnings
from collections.abc import Iterable
from typing import Any

import optuna
from optuna.storages._heartbeat import BaseHeartbeat, is_heartbeat_enabled
from optuna.trial import TrialState

from advisor.search._storage import GRACE_S, HEARTBEAT_S, stamp_together

__all__ = ["Beating", "owner", "owner_is_dead", "sweep"]

OWNER_KEY = "lossadvisor:owner"
BEAT_KEY = "lossadvisor:beat"


def _start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux), or None where unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read().decode(errors="replace")
    except OSError:
        return None
    # the command name may hold spaces and parentheses: fields count from the last ')'
    return int(stat.rsplit(")", 1)[1].split()[19])


def owner() -> dict[str, Any]:
    """This process, as stored on the trials it takes."""
    pid = os.getpid()
    return {"host": socket.gethostname(), "pid": pid, "start": _start_ticks(pid)}


def owner_is_dead(record: Any) -> bool:
    """True only when the owner certainly is gone: same host, and no such process (any more)."""
    if not isinstance(record, dict) or record.get("host") != socket.gethostname():
        return False
    pid = record.get("pid")
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # exists, owned by someone else
    started = record.get("start")
    return started is not None and _start_ticks(pid) not in (None, started)


def _beats(storage: optuna.storages.BaseStorage) -> bool:
    return isinstance(storage, BaseHeartbeat) and is_heartbeat_enabled(storage)


class Beating:
    """Stamp the trials this process takes and keep them beating from a daemon thread."""

    def __init__(self, study: optuna.Study) -> None:
        self.study = study
        self.storage = study._storage
        self.ids: set[int] = set()
        self.me = owner()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def take(self, trial_ids: Iterable[int]) -> None:
        """Stamp trials as this process's and beat for them until :meth:`drop` (stamps and
        first beats in one transaction where the storage allows: ``stamp_together``)."""
        ids = list(trial_ids)
        together = _beats(self.storage) and stamp_together(self.storage, ids, OWNER_KEY, self.me)
        if not together:
            for trial_id in ids:
                self.storage.set_trial_system_attr(trial_id, OWNER_KEY, self.me)
        with self._lock:
            self.ids.update(ids)
        if not together:
            self._beat(ids)
        if self._thread is None and not isinstance(
            self.storage, optuna.storages.InMemoryStorage
        ):  # nothing else can take an in-memory study's trials: no one to beat for
            self._thread = threading.Thread(target=self._run, name="lossadvisor-beat", daemon=True)
            self._thread.start()

    def drop(self, trial_ids: Iterable[int]) -> None:
        with self._lock:
            self.ids.difference_update(trial_ids)

    def _beat(self, ids: Iterable[int]) -> None:
        for trial_id in ids:
            try:
                if _beats(self.storage):
                    self.storage.record_heartbeat(trial_id)
                else:
                    self.storage.set_trial_system_attr(trial_id, BEAT_KEY, time.time())
            except Exception:  # finished meanwhile, or a passing storage error: beat again later
                continue

    def _run(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            with self._lock:
                ids = list(self.ids)
            self._beat(ids)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2 * HEARTBEAT_S)


def _fail(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
    storage = study._storage
    try:
        storage.set_trial_system_attr(trial._trial_id, "lossadvisor:failed", "stale")
        if not storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL):
            return False
    except optuna.exceptions.UpdateFinishedTrialError:
        return False  # another process finished or failed it first
    getter = getattr(storage, "get_heartbeat_stale_trial_callback", None) or getattr(
        storage, "get_failed_trial_callback", lambda: None
    )  # renamed in Optuna 4.9
    callback = getter()
    if callback is not None:
        callback(study, storage.get_trial(trial._trial_id))
    return True


def sweep(study: optuna.Study) -> int:
    """Fail the running trials whose process is gone; return how many were failed."""
    storage = study._storage
    if isinstance(storage, optuna.storages.InMemoryStorage):
        return 0
    if _beats(storage):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)
    now = time.time()
    failed = 0
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        record = trial.system_attrs.get(OWNER_KEY)
        if record is None:
            # no owner stamped (a process that died between asking and stamping, or an older
            # version): stale once it started more than a grace period ago
            started = trial.datetime_start or datetime.datetime.now()
            stale = (datetime.datetime.now() - started).total_seconds() > GRACE_S
        else:
            stale = owner_is_dead(record)
            if not stale and not _beats(storage):
                beat = trial.system_attrs.get(BEAT_KEY)
                stale = beat is not None and now - float(beat) > GRACE_S
        if stale and _fail(study, trial):
            failed += 1
    return failed
