"""sweep: a running trial is failed only when the process behind it is certainly gone."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import optuna
import pytest

from advisor.search._liveness import BEAT_KEY, OWNER_KEY, Beating, owner, sweep
from advisor.search._storage import GRACE_S, build_storage


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _study(url: str) -> optuna.Study:
    return optuna.create_study(storage=build_storage(url), study_name="live")


@pytest.fixture(params=["journal", "sqlite"])
def study(request, tmp_path) -> optuna.Study:
    url = (
        f"journal:{tmp_path / 'j.log'}"
        if request.param == "journal"
        else f"sqlite:///{tmp_path / 's.db'}"
    )
    return _study(url)


def _running(study: optuna.Study, stamp: dict | None, beat: float | None = None) -> int:
    trial = study.ask()
    if stamp is not None:
        study._storage.set_trial_system_attr(trial._trial_id, OWNER_KEY, stamp)
    if beat is not None:
        study._storage.set_trial_system_attr(trial._trial_id, BEAT_KEY, beat)
    return trial.number


def _state(study: optuna.Study, number: int) -> str:
    return study.trials[number].state.name


def test_a_dead_process_on_this_host_loses_its_trials(study) -> None:
    dead = _running(study, {"host": socket.gethostname(), "pid": _dead_pid(), "start": None})
    alive = _running(study, owner(), beat=time.time())
    assert sweep(study) == 1
    assert _state(study, dead) == "FAIL" and _state(study, alive) == "RUNNING"


def test_a_reused_pid_with_another_start_time_is_not_the_owner(study) -> None:
    me = owner()
    if me["start"] is None:
        pytest.skip("process start times are read from /proc (Linux)")
    number = _running(study, {**me, "start": me["start"] - 1}, beat=time.time())
    assert sweep(study) == 1 and _state(study, number) == "FAIL"


def test_another_hosts_trial_is_kept_while_it_beats(tmp_path) -> None:
    study = _study(f"journal:{tmp_path / 'j.log'}")
    other = {"host": "elsewhere.example", "pid": 1, "start": 1}
    fresh = _running(study, other, beat=time.time())
    silent = _running(study, other, beat=time.time() - GRACE_S - 1)
    assert sweep(study) == 1
    assert _state(study, fresh) == "RUNNING" and _state(study, silent) == "FAIL"


def test_a_trial_nobody_stamped_is_stale_only_after_a_grace_period(study) -> None:
    number = _running(study, None)
    assert sweep(study) == 0 and _state(study, number) == "RUNNING"


def test_a_relational_storage_queues_a_failed_trial_again(tmp_path) -> None:
    study = _study(f"sqlite:///{tmp_path / 's.db'}")
    study.ask({"x": optuna.distributions.FloatDistribution(0, 1)})
    stamp = {"host": socket.gethostname(), "pid": _dead_pid(), "start": None}
    study._storage.set_trial_system_attr(study.trials[0]._trial_id, OWNER_KEY, stamp)
    assert sweep(study) == 1
    retry = study.trials[-1]
    assert retry.state.name == "WAITING" and retry.params == study.trials[0].params


def test_beating_keeps_a_trial_alive_and_stamps_its_owner(tmp_path) -> None:
    study = _study(f"journal:{tmp_path / 'j.log'}")
    trial = study.ask()
    beating = Beating(study)
    try:
        beating.take([trial._trial_id])
        attrs = study.trials[0].system_attrs
        assert attrs[OWNER_KEY] == owner() and time.time() - attrs[BEAT_KEY] < 5
    finally:
        beating.close()
    assert sweep(study) == 0


def test_a_batch_is_stamped_and_first_beaten_in_one_transaction(tmp_path) -> None:
    """SQLite: the owner stamps and first heartbeats of a batch are one commit; a journal
    (no heartbeats) stamps call by call, and beats with its own attribute."""
    import sqlite3
    import warnings

    import sqlalchemy

    url = f"sqlite:///{tmp_path / 's.db'}"
    study = _study(url)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # heartbeats are meant for Study.optimize
        ids = [study.ask()._trial_id for _ in range(3)]
    commits: list[int] = []
    sqlalchemy.event.listen(study._storage._backend.engine, "commit", lambda *a: commits.append(1))
    beating = Beating(study)
    try:
        beating.take(ids)
        assert len(commits) == 1  # (its thread beats again only after HEARTBEAT_S)
    finally:
        beating.close()
    for trial in study.get_trials(deepcopy=False):
        assert trial.system_attrs[OWNER_KEY] == owner()
    with sqlite3.connect(tmp_path / "s.db") as connection:
        beaten = {row[0] for row in connection.execute("SELECT trial_id FROM trial_heartbeats")}
    assert beaten == set(ids)
    journal = _study(f"journal:{tmp_path / 'j.log'}")
    taken = [journal.ask()._trial_id for _ in range(2)]
    beating = Beating(journal)
    try:
        beating.take(taken)
    finally:
        beating.close()
    for trial in journal.get_trials(deepcopy=False):
        assert trial.system_attrs[OWNER_KEY] == owner() and BEAT_KEY in trial.system_attrs
